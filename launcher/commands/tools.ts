// `mcpcp tools list|diff|approve`: tool-definition pins (proxy/tool-pins/). Through the running fleet's admin socket,
// so an approval takes effect at once; with no fleet running, on the pin file in the data folder itself (the next
// `mcpcp up` reads it). `diff` exits 1 while a changed definition waits for approval (like `git diff --exit-code`).
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { readRuntimeEnv } from '../../lib/env.ts';
import { isMcpcpError, McpcpError } from '../../lib/errors.ts';
import type { ToolPinDiff, ToolPinState } from '../../proxy/tool-pins/pins.ts';
import type { Register } from '../cli.ts';
import { adminRequest } from '../fleet/admin-socket.ts';

interface Flags {
  dataDir?: string;
  json?: boolean;
  hash?: string;
}

interface PinsAccess {
  list(): Promise<{ mode: string; tools: ToolPinState[] }>;
  diff(server: string, tool: string): Promise<ToolPinDiff>;
  approve(server: string, tool: string, hash?: string): Promise<{ state: ToolPinState; approved: boolean }>;
  close(): void;
}

/** An admin-socket answer `{error: {code, message}}` becomes the McpcpError it was. */
async function admin<T>(dataDir: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const answer = (await adminRequest(dataDir, method, path, 5_000, body)) as {
    error?: { code?: string; message?: string };
  };
  if (answer !== null && typeof answer === 'object' && typeof answer.error === 'object') {
    const code =
      answer.error.code === 'ERR_NOT_FOUND' || answer.error.code === 'ERR_CONFLICT'
        ? answer.error.code
        : 'ERR_INTERNAL';
    throw new McpcpError(code, answer.error.message ?? 'the fleet refused');
  }
  return answer as T;
}

async function openPins(dataDir: string): Promise<PinsAccess> {
  try {
    await adminRequest(dataDir, 'GET', '/status');
  } catch (error) {
    if (!isMcpcpError(error, 'ERR_FLEET_NOT_RUNNING')) throw error;
    // Loaded only here, so other commands start without node:sqlite.
    const [{ createToolPins }, { openPinStore, pinFileIn }] = await Promise.all([
      import('../../proxy/tool-pins/pins.ts'),
      import('../../proxy/tool-pins/store.ts'),
    ]);
    const file = pinFileIn(dataDir);
    const exists = await access(file).then(
      () => true,
      () => false,
    );
    if (!exists)
      throw new McpcpError(
        'ERR_NOT_FOUND',
        `no fleet is running in ${dataDir} and it has no pins yet (${file})`,
      );
    const pins = createToolPins({ store: openPinStore(file), mode: 'hide' });
    return {
      list: () => Promise.resolve({ mode: 'offline', tools: pins.list() }),
      diff: (server, tool) => {
        const diff = pins.diff(server, tool);
        return diff === undefined
          ? Promise.reject(
              new McpcpError('ERR_NOT_FOUND', `no tool ${tool} of server ${server} has been seen`),
            )
          : Promise.resolve(diff);
      },
      approve: (server, tool, hash) =>
        Promise.resolve(pins.approve(server, tool, 'mcpcp tools approve', hash)),
      close: () => pins.close(),
    };
  }
  return {
    list: () => admin(dataDir, 'GET', '/tools'),
    diff: (server, tool) =>
      admin(dataDir, 'GET', `/tools/diff?${new URLSearchParams({ server, tool }).toString()}`),
    approve: (server, tool, hash) => admin(dataDir, 'POST', '/tools/approve', { server, tool, hash }),
    close: () => undefined,
  };
}

const short = (hash: string) => hash.slice(0, 12);
const show = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value));

function renderDiff(diff: ToolPinDiff): string {
  const { state } = diff;
  const lines = [
    `${state.server}/${state.tool}: ${state.status}${state.hidden ? ' (hidden from agents)' : ''}; approved ${short(state.approvedHash)} by ${state.approvedBy}, offered ${short(state.seenHash)}`,
  ];
  for (const change of diff.changes)
    lines.push(
      `  ${change.path} (${change.kind})\n    - ${show(change.before)}\n    + ${show(change.after)}`,
    );
  if (diff.changes.length === 0) lines.push('  the offered definition is the approved one');
  return lines.join('\n');
}

async function withPins<T>(flags: Flags, use: (pins: PinsAccess) => Promise<T>): Promise<T> {
  const pins = await openPins(flags.dataDir ?? readRuntimeEnv().home);
  try {
    return await use(pins);
  } finally {
    pins.close();
  }
}

export const registerTools: Register = (program: Command) => {
  const tools = program
    .command('tools')
    .description('tool-definition pins: what each child offers, what changed, approvals');
  const dataDir = '--data-dir <dir>';
  const dataDirHelp = 'data folder of the fleet (default: .mcpcp)';

  tools
    .command('list')
    .description('every tool of every child with its definition hash and pin status')
    .option(dataDir, dataDirHelp)
    .option('--json', 'print JSON')
    .action((flags: Flags) =>
      withPins(flags, async (pins) => {
        const { mode, tools: states } = await pins.list();
        if (flags.json)
          return void process.stdout.write(`${JSON.stringify({ mode, tools: states }, null, 2)}\n`);
        const lines = states.map(
          (s) =>
            `${s.status === 'changed' ? '!' : ' '} ${s.server}/${s.tool}  ${short(s.approvedHash)}${s.status === 'changed' ? ` → ${short(s.seenHash)} (changed${s.hidden ? ', hidden' : ''})` : ''}`,
        );
        process.stdout.write(`pinning: ${mode}\n${lines.join('\n')}\n`);
      }),
    );

  tools
    .command('diff')
    .description(
      'what changed in a tool definition since it was approved (every changed tool without arguments)',
    )
    .argument('[server]', 'server id')
    .argument('[tool]', "the child's own tool name")
    .option(dataDir, dataDirHelp)
    .option('--json', 'print JSON')
    .action((server: string | undefined, tool: string | undefined, flags: Flags, command: Command) =>
      withPins(flags, async (pins) => {
        if ((server === undefined) !== (tool === undefined))
          command.error('error: give both SERVER and TOOL, or neither');
        const targets =
          server !== undefined && tool !== undefined
            ? [{ server, tool }]
            : (await pins.list()).tools.filter((s) => s.status === 'changed');
        const diffs = await Promise.all(targets.map((t) => pins.diff(t.server, t.tool)));
        if (flags.json) process.stdout.write(`${JSON.stringify(diffs, null, 2)}\n`);
        else
          process.stdout.write(
            diffs.length === 0 ? 'no changed tool definitions\n' : `${diffs.map(renderDiff).join('\n')}\n`,
          );
        if (diffs.some((d) => d.state.status === 'changed')) process.exitCode = 1;
      }),
    );

  tools
    .command('approve')
    .description('approve the definition a child offers now; a hidden tool comes back to agents at once')
    .argument('<server>', 'server id')
    .argument('<tool>', "the child's own tool name")
    .option(
      '--hash <sha256>',
      'approve only if the offered definition still has this hash (from `tools diff`)',
    )
    .option(dataDir, dataDirHelp)
    .option('--json', 'print JSON')
    .action((server: string, tool: string, flags: Flags) =>
      withPins(flags, async (pins) => {
        const result = await pins.approve(server, tool, flags.hash);
        if (flags.json) return void process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(
          result.approved
            ? `approved ${server}/${tool} at ${short(result.state.approvedHash)}\n`
            : `${server}/${tool} is unchanged: nothing to approve\n`,
        );
      }),
    );
};
