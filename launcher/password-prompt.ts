// Reads a password for the CLI: from the first line of standard input (`--password-stdin`, for scripts), or
// typed at a terminal without echo, twice. It must never print the password or take it from a flag.
import { createInterface } from 'node:readline';
import { McpcpError } from '../lib/errors.ts';

async function firstLineOfStdin(): Promise<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let typed = '';
    const done = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error === undefined) resolve(typed);
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new McpcpError('ERR_INVALID_ARGUMENT', 'cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on('data', onData);
  });
}

export async function readPassword(options: { fromStdin: boolean; confirm: boolean }): Promise<string> {
  if (options.fromStdin) return firstLineOfStdin();
  if (process.stdin.isTTY !== true) {
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      'no terminal to type a password at: pass --password-stdin and pipe the password in',
    );
  }
  const password = await askHidden('Password: ');
  if (options.confirm && (await askHidden('Again: ')) !== password) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'the two passwords differ');
  }
  return password;
}
