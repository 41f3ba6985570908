// Argument constraints of policy rules: checking a call's arguments and narrowing an advertised input schema.
// Pure functions over plain data; it must not decide which rules apply (auth/policy.ts does).
import type { ArgumentConstraint } from '../config/schema.ts';

type Json = string | number | boolean | null;

/** A constraint with its pattern compiled once. */
export interface CompiledConstraint {
  readonly source: ArgumentConstraint;
  readonly pattern: RegExp | undefined;
}

export function compileConstraint(source: ArgumentConstraint): CompiledConstraint {
  return { source, pattern: source.pattern === undefined ? undefined : new RegExp(source.pattern, 'u') };
}

/**
 * Returns why `value` breaks the constraint, or undefined when it holds. A constrained argument must be
 * present: a tool's own default could lie outside the narrowed range, so absence fails closed.
 */
export function checkArgument(
  name: string,
  present: boolean,
  value: unknown,
  constraint: CompiledConstraint,
): string | undefined {
  const c = constraint.source;
  const arg = `argument "${name}"`;
  if (!present) return `${arg} is required by policy`;
  if (c.enum !== undefined && !c.enum.some((allowed) => allowed === value)) {
    return `${arg} must be one of ${c.enum.map(show).join(', ')}`;
  }
  if (c.const !== undefined && value !== c.const) return `${arg} must be ${show(c.const)}`;
  if (c.minimum !== undefined || c.maximum !== undefined) {
    if (typeof value !== 'number' || Number.isNaN(value)) return `${arg} must be a number`;
    if (c.minimum !== undefined && value < c.minimum) return `${arg} must be >= ${c.minimum}`;
    if (c.maximum !== undefined && value > c.maximum) return `${arg} must be <= ${c.maximum}`;
  }
  if (c.minLength !== undefined || c.maxLength !== undefined || constraint.pattern !== undefined) {
    if (typeof value !== 'string') return `${arg} must be a string`;
    const length = [...value].length; // JSON Schema counts code points
    if (c.minLength !== undefined && length < c.minLength) {
      return `${arg} must be at least ${c.minLength} characters long`;
    }
    if (c.maxLength !== undefined && length > c.maxLength) {
      return `${arg} must be at most ${c.maxLength} characters long`;
    }
    if (constraint.pattern !== undefined && !constraint.pattern.test(value)) {
      return `${arg} must match /${c.pattern ?? ''}/`;
    }
  }
  return undefined;
}

function show(value: Json): string {
  return JSON.stringify(value);
}

/**
 * Merges a constraint into one property of a JSON Schema, never widening it: enums intersect, bounds
 * take the tighter value, a second differing pattern or const goes into `allOf`.
 */
export function mergeConstraint(
  property: Readonly<Record<string, unknown>>,
  constraint: ArgumentConstraint,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...property };
  const extra: Record<string, unknown>[] = [];
  if (constraint.enum !== undefined) {
    const current = out.enum;
    out.enum = Array.isArray(current)
      ? constraint.enum.filter((v) => current.some((c) => c === v))
      : [...constraint.enum];
  }
  tighten(out, 'minimum', constraint.minimum, Math.max);
  tighten(out, 'maximum', constraint.maximum, Math.min);
  tighten(out, 'minLength', constraint.minLength, Math.max);
  tighten(out, 'maxLength', constraint.maxLength, Math.min);
  for (const key of ['pattern', 'const'] as const) {
    const value = constraint[key];
    if (value === undefined) continue;
    if (!(key in out) || out[key] === value) out[key] = value;
    else extra.push({ [key]: value });
  }
  if (extra.length > 0) out.allOf = [...(Array.isArray(out.allOf) ? (out.allOf as unknown[]) : []), ...extra];
  return out;
}

function tighten(
  out: Record<string, unknown>,
  key: string,
  value: number | undefined,
  pick: (a: number, b: number) => number,
): void {
  if (value === undefined) return;
  const current = out[key];
  out[key] = typeof current === 'number' ? pick(current, value) : value;
}
