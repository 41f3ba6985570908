// Test helpers for auth: temp key folders, a frozen clock, and hand-made (forged) tokens.
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const issuer = 'http://127.0.0.1:9999';
export const audience = 'http://127.0.0.1:9999/mcp';
/** The frozen "now" every test issues and verifies at. */
export const frozenNow = new Date('2026-06-01T12:00:00Z');
export const nowSeconds = Math.floor(frozenNow.getTime() / 1000);
export const frozenClock = (): Date => frozenNow;

export async function makeTempDir(prefix = 'mcpcp-auth-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

export function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

export function encodeJson(value: unknown): string {
  return b64url(JSON.stringify(value));
}

export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function validClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: issuer,
    sub: 'alice',
    aud: audience,
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + 3600,
    jti: 'test-jti',
    ...overrides,
  };
}

/** An HS256 token whose HMAC secret is the given bytes (the algorithm-confusion attack). */
export function signHs256(header: Record<string, unknown>, claims: unknown, secret: string | Buffer): string {
  const input = `${encodeJson({ ...header, alg: 'HS256' })}.${encodeJson(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Replaces one character in the middle of a segment, keeping it valid base64url. */
export function flipChar(segment: string): string {
  const at = Math.floor(segment.length / 2);
  const replacement = segment[at] === 'A' ? 'B' : 'A';
  return `${segment.slice(0, at)}${replacement}${segment.slice(at + 1)}`;
}

export function splitToken(token: string): [string, string, string] {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a compact JWS');
  return [parts[0]!, parts[1]!, parts[2]!];
}
