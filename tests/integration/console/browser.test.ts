// The console in a real browser (Debian's Chromium driven by playwright-core) against a real fleet started by
// `mcpcp up`: sign in; the fleet page shows every server live and follows a killed child; an agent's view is what
// `mcpcp demo` shows; "why?" explains a denial; the audit stream shows a call made during the test; a GuessBot game
// played by two agents appears live and verifies in the browser; a tampered transcript is flagged at the right
// message; a changed tool definition is hidden until approved; a member sees only their own channels. Screenshots
// of each page go to .cache/artifacts/console/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCallerFor } from '../../../client/verify/fetch.ts';
import { serviceAvailable, services } from '../../support/services.ts';
import { startRealFleet, type RealFleet } from './fleet-harness.ts';

const artifacts = resolve(import.meta.dirname, '../../../.cache/artifacts/console');
const available = serviceAvailable('chromium');
const launchFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let fleet: RealFleet;
let profile: string;
let context: BrowserContext;
let page: Page;
let operatorToken: string;
const requestedUrls: string[] = [];

async function newContext(dir: string): Promise<BrowserContext> {
  // A fresh --user-data-dir per context: playwright passes it as the persistent profile.
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: services.chromium.value!,
    headless: true,
    args: launchFlags,
    viewport: { width: 1000, height: 720 },
  });
  ctx.on('request', (request) => requestedUrls.push(request.url()));
  return ctx;
}

async function shot(name: string, target: Page = page): Promise<void> {
  // The top of the page only: small files (two of them are the README's pictures).
  await target.screenshot({
    path: join(artifacts, `${name}.png`),
    clip: { x: 0, y: 0, width: 1000, height: 560 },
  });
}

async function signIn(target: Page, token: string): Promise<void> {
  await target.goto(`${fleet.baseUrl}/console/sign-in`);
  await target.getByLabel('Token').fill(token);
  await target.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  if (!available) return;
  await mkdir(artifacts, { recursive: true });
  fleet = await startRealFleet(join(artifacts, 'fleet.log'));
  const issued = await fleet.run(['console', 'token']);
  expect(issued.exitCode).toBe(0);
  operatorToken = issued.stdout.trim();
  profile = await mkdtemp(join(tmpdir(), 'mcpcp-chromium-'));
  context = await newContext(profile);
  page = context.pages()[0] ?? (await context.newPage());
}, 150_000);

afterAll(async () => {
  await context?.close();
  await fleet?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!available)('the console in Chromium', { timeout: 120_000 }, () => {
  it('refuses a page before sign-in, then signs an operator in with an operator token', async () => {
    const refused = await page.goto(`${fleet.baseUrl}/console/fleet`);
    expect(refused?.status()).toBe(401);
    await signIn(page, 'not-a-token');
    await expect(page.locator('#sign-in-error').textContent()).resolves.toContain('refused');
    await shot('sign-in');
    await signIn(page, operatorToken);
    await page.waitForURL('**/console/fleet');
    await expect(page.locator('header .signout strong').textContent()).resolves.toBe('operator');
  });

  it('shows every server live and follows a child that is killed', async () => {
    await page.goto(`${fleet.baseUrl}/console/fleet`);
    const rows = page.locator('tbody tr[id^="srv-"]');
    await expect(rows.count()).resolves.toBeGreaterThanOrEqual(5);
    for (const id of ['everything', 'memory', 'channels', 'bot-runner', 'kid'])
      await page.locator(`#srv-${id}[data-state="ready"]`).waitFor({ timeout: 30_000 });
    await page.locator('#fleet-live', { hasText: 'live' }).waitFor();
    await shot('fleet');
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    const pid = Number(await page.locator('#srv-memory td').nth(1).textContent());
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await page.locator('#srv-memory:not([data-state="ready"])').waitFor({ timeout: 15_000 });
    await page.locator('#srv-memory[data-state="ready"]').waitFor({ timeout: 30_000 });
    const again = Number(await page.locator('#srv-memory td').nth(1).textContent());
    expect(again).not.toBe(pid);
    await expect(page.locator('#srv-memory td').nth(4).textContent()).resolves.toBe('1');
    // Updated in place by the live stream, not by a reload.
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
  });

  it("shows an agent's exact view: the tools `mcpcp demo` sees", async () => {
    const demo = await fleet.run(['demo', '--json']);
    expect(demo.exitCode, demo.stderr).toBe(0);
    const seen = (JSON.parse(demo.stdout) as { agents: { agent: string; tools: string[] }[] }).agents;
    for (const { agent, tools } of seen) {
      await page.goto(`${fleet.baseUrl}/console/agents/${agent}`);
      const shown = await page.locator('#agent-tools code').allTextContents();
      expect([...shown].sort()).toEqual([...tools].sort());
    }
    await shot('agent');
  });

  it('explains a denial with the deciding rule, as `mcpcp policy explain` does', async () => {
    await page.goto(`${fleet.baseUrl}/console/agents`);
    await page.getByLabel('Agent').selectOption('agent_name1');
    await page.getByLabel(/^Name/).fill('everything_get-env');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('#why-result').waitFor();
    await expect(page.locator('#why-result h2').textContent()).resolves.toContain('DENIED');
    const cli = await fleet.run(
      [
        'policy',
        'explain',
        'agent_name1',
        'everything_get-env',
        '--json',
        '--config',
        join(fleet.dataDir, 'mcpcp.yaml'),
      ],
      false,
    );
    expect(cli.exitCode, cli.stderr).toBe(0);
    const rule = (JSON.parse(cli.stdout) as { decision: { rule: string } }).decision.rule;
    expect(rule).toBe('agent1-everything');
    await expect(page.locator('#why-rule').textContent()).resolves.toBe(rule);
    await shot('why');
  });

  it('shows a call made during the test in the live audit stream', async () => {
    await page.goto(`${fleet.baseUrl}/console/activity?agent=agent_name2`);
    await page.locator('#activity-live', { hasText: 'live' }).waitFor();
    const agent2 = await fleet.connect('agent_name2');
    const marker = `console-test-${Date.now()}`;
    await agent2.callTool({ name: 'everything_echo', arguments: { message: marker } });
    const row = page.locator('#audit-rows tr', { hasText: 'everything_echo' }).first();
    await row.waitFor({ timeout: 15_000 });
    await expect(row.textContent()).resolves.toMatch(/agent_name2.*tools\/call.*everything_echo.*allow/s);
    await shot('activity');
  });

  let gameChannel = '';
  it('shows a GuessBot game by two agents live, marks commitments and reveals, and verifies it in the browser', async () => {
    const [one, two] = await Promise.all([fleet.connect('agent_name1'), fleet.connect('agent_name2')]);
    const create = toolCallerFor(one, 'channels_');
    const play = toolCallerFor(two, 'channels_');
    const created = (await create('create_channel', {
      name: 'console test: guess the number',
      slots: ['bot:referee', 'invite:agent_name1', 'invite:agent_name2'],
      bot_preset: 'GuessBot',
    })) as { channel_id: string; invites: { code: string }[] };
    gameChannel = created.channel_id;
    await create('join_channel', { invite_code: created.invites[0]!.code, seed: 'one-seed' });
    await play('join_channel', { invite_code: created.invites[1]!.code, seed: 'two-seed' });

    await page.goto(`${fleet.baseUrl}/console/channels`);
    await page.getByRole('link', { name: gameChannel }).click();
    await page.locator('#channel-live', { hasText: 'live' }).waitFor();
    const before = await page.locator('#messages tr').count();
    let low = 1;
    let high = 100;
    for (let turn = 0; turn < 10; turn += 1) {
      const guess = Math.floor((low + high) / 2);
      const posted = (await play('post_message', { channel_id: gameChannel, body: `guess ${guess}` })) as {
        replies: { kind: string; body: { hint?: string } }[];
      };
      const hint = posted.replies.find((r) => r.kind === 'game:hint')?.body.hint;
      if (posted.replies.some((r) => r.kind === 'game:over')) break;
      if (hint === 'higher') low = guess + 1;
      else high = guess - 1;
    }
    // The game reached the page while it was open: the bot's game:over and the server's reveal, marked.
    await page.locator('#messages tr.from-bot', { hasText: 'game:over' }).waitFor({ timeout: 20_000 });
    await page.locator('#messages tr[data-mark="reveal"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#messages tr').count()).toBeGreaterThan(before);
    await expect(page.locator('#messages tr[data-mark="commitment"]').count()).resolves.toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Verify in the browser' }).click();
    await page.locator('#verify-result.ok').waitFor({ timeout: 20_000 });
    await expect(page.locator('#verify-result').textContent()).resolves.toContain('Verified in your browser');
    await shot('channel');

    // Step-by-step replay.
    await page.getByRole('button', { name: /first/ }).click();
    await expect(page.locator('#messages tr:visible').count()).resolves.toBe(0);
    await page.getByRole('button', { name: /forward/ }).click();
    await page.getByRole('button', { name: /forward/ }).click();
    await expect(page.locator('#messages tr:visible').count()).resolves.toBe(2);
    await expect(page.locator('[data-replay-step]').textContent()).resolves.toMatch(/^message 2 of \d+/);
  });

  it('flags a tampered transcript at the message that was altered', async () => {
    const response = await page.request.get(
      `${fleet.baseUrl}/console/channels/${gameChannel}/transcript.json`,
    );
    const transcript = (await response.json()) as {
      messages: { seq: number; from: { type: string }; body: unknown }[];
    };
    // Guesses run from 1 to 100, so `guess 0` differs from whatever the agent really sent.
    const target = transcript.messages.filter((m) => m.from.type === 'agent').at(-2)!;
    target.body = 'guess 0';
    await page.goto(`${fleet.baseUrl}/console/channels`);
    await page.locator('#transcript-file').setInputFiles({
      name: 'tampered.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(transcript)),
    });
    await page.getByRole('button', { name: 'Verify in the browser' }).click();
    await page.locator('#verify-file-result.error').waitFor({ timeout: 20_000 });
    await expect(page.locator('#verify-file-result').textContent()).resolves.toContain(
      `message #${target.seq}`,
    );
    await expect(page.locator('#verify-file li.bad').getAttribute('data-seq')).resolves.toBe(
      String(target.seq),
    );
    await shot('tampered');

    // The same in flight: a transcript altered on its way to the page is flagged there too. Fulfilled without the
    // real response's headers: its content-length would no longer match the altered body.
    await page.route('**/transcript.json', async (route) => {
      const real = await route.fetch();
      const altered = (await real.json()) as typeof transcript;
      altered.messages.find((m) => m.seq === target.seq)!.body = 'guess 0';
      await route.fulfill({ status: real.status(), json: altered });
    });
    await page.goto(`${fleet.baseUrl}/console/channels/${gameChannel}`);
    await page.getByRole('button', { name: 'Verify in the browser' }).click();
    await page.locator('#verify-result.error').waitFor({ timeout: 20_000 });
    await expect(page.locator('#verify-result').textContent()).resolves.toContain(`message #${target.seq}`);
    await expect(page.locator('#messages tr.bad').getAttribute('data-seq')).resolves.toBe(String(target.seq));
    await page.unroute('**/transcript.json');
  });

  it('hides a tool whose definition changed until an operator approves it in the console', async () => {
    const agent1: Client = await fleet.connect('agent_name1');
    const names = async () => (await agent1.listTools()).tools.map((t) => t.name);
    expect(await names()).toContain('kid_echo');
    await agent1.callTool({ name: 'kid_rug-pull', arguments: {} });
    const deadline = Date.now() + 15_000;
    while ((await names()).includes('kid_echo')) {
      if (Date.now() > deadline) throw new Error('kid_echo was not hidden');
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.goto(`${fleet.baseUrl}/console/tools`);
    await expect(page.locator('#changed-count').textContent()).resolves.toContain('1 changed');
    await page.locator('#pin-kid-echo').getByRole('link', { name: 'echo' }).click();
    await expect(page.locator('#tool-diff').textContent()).resolves.toContain('~/.ssh/id_rsa');
    await shot('tool-diff');
    const diff = await fleet.run(['tools', 'diff', 'kid', 'echo']);
    expect(diff.exitCode).toBe(1);
    expect(diff.stdout).toContain('description (changed)');
    await page.getByRole('button', { name: 'Approve this definition' }).click();
    await page.waitForURL('**/console/tools?done=*');
    await expect(page.locator('#changed-count').textContent()).resolves.toContain('No changed');
    await shot('tools');
    const echo = (await agent1.listTools()).tools.find((t) => t.name === 'kid_echo');
    expect(echo?.description).toContain('~/.ssh/id_rsa');
  });

  it('lets a member see only their own channels, and no operator page', async () => {
    const memberProfile = await mkdtemp(join(tmpdir(), 'mcpcp-chromium-member-'));
    const member = await newContext(memberProfile);
    try {
      // A channel agent_name2 is not in.
      const one = toolCallerFor(await fleet.connect('agent_name1'), 'channels_');
      const { channel_id: secret } = (await one('create_channel', {
        name: 'private',
        slots: ['invite:agent_name1'],
      })) as { channel_id: string };
      const tab = member.pages()[0] ?? (await member.newPage());
      await signIn(tab, fleet.tokens.agent_name2!);
      await tab.waitForURL('**/console/channels');
      const listed = await tab.locator('#channel-list a').allTextContents();
      expect(listed).toContain(gameChannel);
      expect(listed).not.toContain(secret);
      expect((await tab.goto(`${fleet.baseUrl}/console/channels/${secret}`))?.status()).toBe(404);
      expect(
        (await tab.request.get(`${fleet.baseUrl}/console/channels/${secret}/transcript.json`)).status(),
      ).toBe(404);
      expect((await tab.goto(`${fleet.baseUrl}/console/fleet`))?.status()).toBe(403);
      expect((await tab.goto(`${fleet.baseUrl}/console/channels/${gameChannel}`))?.status()).toBe(200);
      await shot('member', tab);
    } finally {
      await member.close();
      await rm(memberProfile, { recursive: true, force: true });
    }
  });

  it('is usable on a phone and by keyboard: no page scrolls sideways, the skip link comes first', async () => {
    // Evaluated in the page: it may not close over anything here.
    const overflowOf = () =>
      page.evaluate(() => {
        const root = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } };
          }
        ).document.documentElement;
        return root.scrollWidth - root.clientWidth;
      });
    const focused = () =>
      page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document
            .activeElement?.textContent,
      );
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const path of [
        'fleet',
        'agents',
        'agents/agent_name1',
        'activity',
        'tools',
        'channels',
        `channels/${gameChannel}`,
      ]) {
        await page.goto(`${fleet.baseUrl}/console/${path}`);
        const overflow = await overflowOf();
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
      await page.goto(`${fleet.baseUrl}/console/fleet`);
      await page.screenshot({ path: join(artifacts, 'phone-fleet.png') });
      await page.keyboard.press('Tab');
      expect(await focused()).toBe('Skip to content');
    } finally {
      await page.setViewportSize({ width: 1000, height: 720 });
    }
  });

  it('never put a token in a URL the browser requested', () => {
    expect(requestedUrls.length).toBeGreaterThan(20);
    for (const url of requestedUrls) {
      expect(url).not.toContain(operatorToken);
      for (const token of Object.values(fleet.tokens)) expect(url).not.toContain(token);
      expect(url).not.toMatch(/eyJ[\w-]+\.eyJ/);
    }
  });
});
