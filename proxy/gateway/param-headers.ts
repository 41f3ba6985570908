// 2026-07-28 `Mcp-Param-*` headers (SEP-2243): a tool's input schema may mark primitive arguments with
// `x-mcp-header: Name`, and a client then mirrors each such argument into an `Mcp-Param-Name` header, so
// intermediaries can route on it without reading the body. A server must reject a request whose mirrored
// headers are absent or disagree with the body (-32020 HeaderMismatch, HTTP 400).
// The proxy is that server to its modern clients, so it checks them here; toward its children the SDK's
// Client.callTool builds them (call-child.ts). The SDK keeps its own checker internal, hence this module.

/** One mirrored argument: where it sits in `arguments`, its header name and its declared type. */
export interface ParamHeader {
  path: readonly string[];
  header: string;
  type: string | undefined;
}

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const unreachable = [
  'items',
  'prefixItems',
  'contains',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'patternProperties',
  'dependentSchemas',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions',
];
const objectValued = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);
const primitive = new Set(['string', 'integer', 'boolean', 'number']);

const declared = new WeakMap<object, readonly ParamHeader[]>();

/**
 * The mirrored arguments a schema declares: `x-mcp-header` on properties reached through `properties`
 * alone. A schema that breaks the extension's rules (a declaration under `items` or `anyOf`, a bad header
 * name, a non-primitive type, a name used twice) declares none: such a tool is invalid, and its calls
 * carry no headers to check.
 */
export function paramHeaders(schema: unknown): readonly ParamHeader[] {
  if (schema === null || typeof schema !== 'object') return [];
  const known = declared.get(schema);
  if (known !== undefined) return known;
  const found: ParamHeader[] = [];
  const names = new Set<string>();
  const visit = (node: unknown, path: string[], reachable: boolean): boolean => {
    if (node === null || typeof node !== 'object') return true;
    const s = node as Record<string, unknown>;
    if ('x-mcp-header' in s) {
      const header = s['x-mcp-header'];
      const type = typeof s.type === 'string' ? s.type : undefined;
      if (!reachable || path.length === 0 || typeof header !== 'string' || !token.test(header)) return false;
      if (type === undefined || !primitive.has(type) || names.has(header.toLowerCase())) return false;
      names.add(header.toLowerCase());
      found.push({ path, header, type });
    }
    const properties = s.properties;
    if (properties !== null && typeof properties === 'object') {
      for (const [key, child] of Object.entries(properties)) {
        if (!visit(child, [...path, key], reachable)) return false;
      }
    }
    for (const keyword of unreachable) {
      const sub = s[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub)
        ? sub
        : objectValued.has(keyword) && sub !== null && typeof sub === 'object'
          ? Object.values(sub)
          : [sub];
      for (const branch of branches) if (!visit(branch, [...path, `<${keyword}>`], false)) return false;
    }
    return true;
  };
  const result = visit(schema, [], true) ? found : [];
  declared.set(schema, result);
  return result;
}

/** The spec's string form of a primitive argument; undefined for values that get no header. */
function asHeaderText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) {
    return Number.isInteger(value) && !Number.isSafeInteger(value) ? undefined : String(value);
  }
  return undefined;
}

const sentinel = { prefix: '=?base64?', suffix: '?=' };
const canonicalBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const decimal = /^-?\d+(\.\d+)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A header value as sent: plain, or `=?base64?…?=` around UTF-8. Undefined when the Base64 is broken. */
function decodeHeader(value: string): string | undefined {
  if (!(value.startsWith(sentinel.prefix) && value.endsWith(sentinel.suffix))) return value;
  const b64 = value.slice(sentinel.prefix.length, value.length - sentinel.suffix.length);
  if (!canonicalBase64.test(b64)) return undefined;
  try {
    return utf8.decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

export interface ParamHeaderMismatch {
  header: string;
  message: string;
}

/** Checks the mirrored headers of one call against its arguments; undefined when they agree. */
export function checkParamHeaders(
  declarations: readonly ParamHeader[],
  args: unknown,
  headers: { get(name: string): string | null },
): ParamHeaderMismatch | undefined {
  for (const { path, header, type } of declarations) {
    let value: unknown = args;
    for (const key of path)
      value =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    if (value === undefined || value === null) continue;
    const text = asHeaderText(value);
    if (text === undefined) continue;
    const name = `Mcp-Param-${header}`;
    const where = `${path.join('.')}=${JSON.stringify(value)}`;
    const sent = headers.get(name);
    if (sent === null)
      return { header: name, message: `the body carries ${where} but the ${name} header is absent` };
    const decoded = decodeHeader(sent);
    if (decoded === undefined)
      return { header: name, message: `the ${name} header carries an invalid Base64 value` };
    const numeric =
      (type === 'integer' || type === 'number') && typeof value === 'number' && decimal.test(decoded);
    if (numeric ? Number(decoded) !== value : decoded !== text) {
      return {
        header: name,
        message: `the ${name} header decodes to ${JSON.stringify(decoded)} but the body carries ${where}`,
      };
    }
  }
  return undefined;
}
