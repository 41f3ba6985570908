// `mcpcp verify`: checks a channel transcript (exported file or live channel through the proxy): hash chain, signed
// heads, commitments vs reveals, and a re-run of the bot. Exit 0 when everything holds, 1 when anything fails or the
// channel/JWKS cannot be fetched, 2 for usage errors (including --file without --jwks: a file's own JWKS is the
// forger's to choose, so heads are only checked against one the user supplies or fetches from the proxy).
import { readFile, writeFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { fetchTranscript, loadJwksFrom } from '../../client/verify/fetch.ts';
import { verifyTranscript, type TranscriptExport, type VerifyReport } from '../../client/verify/verify.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Command } from 'commander';
import type { Register } from '../cli.ts';

interface VerifyFlags {
  file?: string;
  url?: string;
  token?: string;
  channel?: string;
  namespace: string;
  jwks?: string;
  save?: string;
  rerun: boolean;
  json?: boolean;
}

function printReport(report: VerifyReport): void {
  const c = report.checked;
  const lines = [
    `${report.ok ? 'OK' : 'FAILED'}: channel ${report.channel_id}, ${report.messages} messages` +
      (report.head ? `, head #${report.head.seq} ${report.head.hash.slice(0, 16)}…` : ''),
    `  chain ${c.chain ? 'intact' : 'BROKEN'}; ${c.heads} signed head(s) verified; ${c.reveals} reveal(s) match their commitment; ` +
      `${c.bot_messages} bot message(s) reproduced by ${c.hooks_replayed} hook re-run(s)`,
  ];
  if (report.first_bad) {
    lines.push(
      `  first bad: ${report.first_bad.seq === null ? '(transcript)' : `message #${report.first_bad.seq}`}: ${report.first_bad.reason}`,
    );
  }
  for (const problem of report.problems.slice(1, 10)) {
    lines.push(`  also: ${problem.seq === null ? '' : `#${problem.seq} `}${problem.reason}`);
  }
  for (const note of report.notes) lines.push(`  note: ${note}`);
  console.log(lines.join('\n'));
}

export const registerVerify: Register = (program) => {
  program
    .command('verify')
    .description('verify a channel transcript: hash chain, signed heads, fairness reveals, bot re-run')
    .option('--file <path>', 'an exported transcript (mcpcp-transcript/1 JSON)')
    .option(
      '--url <url>',
      'MCP endpoint to fetch a live channel from (the proxy, e.g. http://127.0.0.1:9003/mcp)',
    )
    .option('--token <jwt>', 'your agent token for --url')
    .option('--channel <id>', 'channel id for --url')
    .option(
      '--namespace <ns>',
      "namespace of the channels tools behind the proxy ('' when talking to the server directly)",
      'channels',
    )
    .option(
      '--jwks <file|url>',
      "the fleet's public JWKS to check signed heads against (required with --file; default with --url: " +
        '<url origin>/.well-known/jwks.json). A JWKS inside the transcript file is never trusted',
    )
    .option('--save <path>', 'write the fetched transcript to this file (export)')
    .option('--no-rerun', 'skip re-running the bot')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Exit codes:',
        '  0  the transcript verifies (a signed head covers its last message)',
        '  1  verification failed (first_bad names the message), or the channel or JWKS could not be fetched',
        '  2  usage: bad flags, an unreadable transcript file, or --file without --jwks',
      ].join('\n'),
    )
    .action(async (flags: VerifyFlags, command: Command) => {
      let transcript: TranscriptExport;
      let jwks: JSONWebKeySet | undefined;
      if (flags.file !== undefined) {
        if (flags.url !== undefined) command.error('mcpcp: give --file or --url, not both', { exitCode: 2 });
        if (flags.jwks === undefined) {
          command.error(
            "mcpcp: --file needs a JWKS you trust to check the signed heads: pass --jwks <fleet jwks.json> (or the proxy's " +
              '<origin>/.well-known/jwks.json); the JWKS inside the transcript file is not trusted',
            { exitCode: 2 },
          );
        }
        try {
          transcript = JSON.parse(await readFile(flags.file, 'utf8')) as TranscriptExport;
        } catch (cause) {
          throw new McpcpError('ERR_INVALID_ARGUMENT', `cannot read transcript ${flags.file}`, { cause });
        }
        jwks = await loadJwksFrom(flags.jwks);
      } else if (flags.url !== undefined && flags.channel !== undefined) {
        transcript = await fetchTranscript({
          url: flags.url,
          channel: flags.channel,
          toolPrefix: flags.namespace === '' ? '' : `${flags.namespace}_`,
          ...(flags.token !== undefined ? { token: flags.token } : {}),
        });
        jwks = await loadJwksFrom(flags.jwks ?? new URL('/.well-known/jwks.json', flags.url).href);
        if (flags.save !== undefined)
          await writeFile(flags.save, `${JSON.stringify({ ...transcript, jwks }, null, 2)}\n`);
      } else {
        command.error('mcpcp: give --file <path>, or --url <url> --channel <id> [--token <jwt>]', {
          exitCode: 2,
        });
      }
      const report = await verifyTranscript(transcript, {
        ...(jwks ? { jwks } : {}),
        // The bot sandbox loads only when the bot is re-run (the default; --no-rerun skips it).
        ...(flags.rerun ? { runHook: (await import('../../servers/sandbox/bot-host.ts')).runBotHook } : {}),
      });
      if (flags.json) console.log(JSON.stringify(report, null, 2));
      else printReport(report);
      process.exitCode = report.ok ? 0 : 1;
    });
};
