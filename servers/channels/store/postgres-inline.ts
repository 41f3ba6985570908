// Renders a parameterised statement with its values written in as SQL literals, for the one write that must travel
// in a single simple-protocol round trip with other statements (`BEGIN; <write>; COMMIT; <unlock>`: the extended
// protocol sends one statement per Sync). Literals come from the driver's escapeLiteral, never from string
// concatenation of input. It must not be used for statements whose text holds `$` outside its placeholders.
import pg from 'pg';
import { McpcpError } from '../../../lib/errors.ts';

/** Placeholders `$1…$n`; the longest digit run wins, so `$10` is never read as `$1` followed by `0`. */
const placeholder = /\$(\d+)/g;

function literalOf(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return pg.escapeLiteral(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new McpcpError('ERR_INTERNAL', `cannot inline the number ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  // The statement casts every placeholder (`$5::int[]`), which also types an empty ARRAY[].
  if (Array.isArray(value)) return `ARRAY[${value.map(literalOf).join(',')}]`;
  throw new McpcpError('ERR_INTERNAL', `cannot inline a ${typeof value}`);
}

/** The statement with every `$n` replaced by the literal of `values[n-1]`. */
export function inlineStatement(text: string, values: readonly unknown[]): string {
  return text.replace(placeholder, (_, digits: string) => {
    const index = Number(digits) - 1;
    if (index < 0 || index >= values.length) {
      throw new McpcpError('ERR_INTERNAL', `statement placeholder $${digits} has no value`);
    }
    return literalOf(values[index]);
  });
}
