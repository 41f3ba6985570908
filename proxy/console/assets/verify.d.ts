// Types of verify.js (the browser's transcript verifier, plain JavaScript served as it is), for the Node tests.
import type { webcrypto } from 'node:crypto';

export interface BrowserVerifyProblem {
  seq: number | null;
  check: 'format' | 'chain' | 'heads' | 'fairness' | 'bot';
  reason: string;
}

export interface BrowserVerifyReport {
  ok: boolean;
  channel_id: string;
  messages: number;
  checked: { chain: boolean; heads: number; commitments: number; reveals: number; sources: number };
  marks: Record<number, 'commitment' | 'reveal'>;
  first_bad: BrowserVerifyProblem | null;
  problems: BrowserVerifyProblem[];
}

export function verifyInBrowser(
  transcript: unknown,
  jwks: { keys: object[] },
  deps: { canonicalize: (value: unknown) => string | undefined; subtle: webcrypto.SubtleCrypto },
): Promise<BrowserVerifyReport>;
