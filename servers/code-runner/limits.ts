// The code runner's limits: defaults, maxima, and the zod input schemas that enforce the request-side ones. A call
// may ask for a shorter or longer timeout within the maximum; memory and output caps are fixed per server.
// It must not run anything.
import { z } from 'zod';
import { sandboxLimitMaxima } from '../sandbox/quickjs-engine.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export const codeRunnerLimits = Object.freeze({
  timeoutMs: Object.freeze({ default: 10_000, max: 30_000 }),
  codeBytes: 256 * KiB,
  stdinBytes: 512 * KiB,
  files: Object.freeze({ count: 32, totalBytes: 512 * KiB, pathChars: 200 }),
  /** stdout + stderr of one run; past it the run stops with exit_reason output_limit. */
  outputBytes: MiB,
  python: Object.freeze({
    /** Python's heap (the interpreter's WebAssembly memory); past it MemoryError. */
    wasmMaxBytes: 256 * MiB,
    /** V8 heap of the interpreter process (--max-old-space-size), MiB. */
    heapMb: 128,
    /** The parent kills an interpreter whose resident set passes this (whatever grew). */
    rssMaxBytes: 768 * MiB,
  }),
  javascript: Object.freeze({ memoryBytes: sandboxLimitMaxima.memoryBytes }),
});

const byteLength = (text: string): number => Buffer.byteLength(text);

/** A relative path inside the working folder: segments of letters, digits, `_ . -` and spaces; no `.` or `..`. */
export function isSafeRelativePath(path: string): boolean {
  if (path.startsWith('/')) return false;
  return path
    .split('/')
    .every((segment) => segment !== '.' && segment !== '..' && /^[\w.\- ]+$/.test(segment));
}

const filePath = z
  .string()
  .min(1)
  .max(codeRunnerLimits.files.pathChars)
  .refine(
    isSafeRelativePath,
    'a relative path of letters, digits, _ . - and spaces, without . or .. segments',
  );

export const code = z
  .string()
  .min(1, 'code is empty')
  .refine(
    (text) => byteLength(text) <= codeRunnerLimits.codeBytes,
    `code is larger than ${codeRunnerLimits.codeBytes} bytes`,
  )
  .describe('The program');
export const stdin = z
  .string()
  .refine(
    (text) => byteLength(text) <= codeRunnerLimits.stdinBytes,
    `stdin is larger than ${codeRunnerLimits.stdinBytes} bytes`,
  )
  .optional()
  .describe('Text the program reads as standard input');
export const timeoutMs = z
  .number()
  .int()
  .min(1)
  .max(codeRunnerLimits.timeoutMs.max)
  .optional()
  .describe(
    `Wall-clock limit in ms (default ${codeRunnerLimits.timeoutMs.default}, at most ${codeRunnerLimits.timeoutMs.max})`,
  );
export const files = z
  .record(filePath, z.string())
  .refine(
    (record) => Object.keys(record).length <= codeRunnerLimits.files.count,
    `at most ${codeRunnerLimits.files.count} files`,
  )
  .refine(
    (record) =>
      Object.values(record).reduce((sum, text) => sum + byteLength(text), 0) <=
      codeRunnerLimits.files.totalBytes,
    `files larger than ${codeRunnerLimits.files.totalBytes} bytes in total`,
  )
  .optional()
  .describe('Text files written into the working folder before the run: relative path → UTF-8 content');

export const runPythonInput = z.object({ code, stdin, files, timeout_ms: timeoutMs });
export const runJavascriptInput = z.object({ code, stdin, timeout_ms: timeoutMs });

const runError = z.object({ type: z.string(), message: z.string(), traceback: z.string() });

export const runOutput = z.object({
  stdout: z.string(),
  stderr: z.string(),
  result: z
    .unknown()
    .describe('The last expression: its JSON value when it has one, else its repr text; null when none'),
  exit_reason: z.enum(['ok', 'error', 'timeout', 'memory', 'output_limit']),
  error: runError.optional(),
  runtime: z.object({ name: z.string(), version: z.string(), engine: z.string() }),
  limits: z.object({ timeout_ms: z.number(), memory_bytes: z.number(), output_bytes: z.number() }),
  duration_ms: z.number(),
});

export type RunOutput = z.infer<typeof runOutput>;
