// `mcpcp doctor` against the test deployment: it passes, and when a front server in between breaks one thing
// at a time (a fake standing in for a misconfigured reverse proxy), it names that problem.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../../launcher/commands/doctor.ts';
import { password, startDeployment, type Deployment } from './harness.ts';

type Breakage = 'none' | 'challenge' | 'prm-root' | 'resource' | 'issuer' | 'pkce' | 'cors';
let breakage: Breakage = 'none';
let d: Deployment;
let front: Server;
let frontUrl: string;
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../launcher/bin/mcpcp.ts');

/** Forwards to the deployment, breaking what `breakage` names. */
function startFront(): Promise<number> {
  front = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
        const upstream = await fetch(`${d.proxy.url}${req.url}`, {
          method: req.method,
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
          redirect: 'manual',
        });
        let body = Buffer.from(await upstream.arrayBuffer());
        const out: Record<string, string | string[]> = {};
        upstream.headers.forEach((v, k) => {
          if (
            k !== 'content-length' &&
            k !== 'content-encoding' &&
            k !== 'transfer-encoding' &&
            k !== 'set-cookie'
          )
            out[k] = v;
        });
        const cookies = upstream.headers.getSetCookie();
        if (cookies.length > 0) out['set-cookie'] = cookies;
        const path = (req.url ?? '').split('?')[0];
        const json = (edit: (o: Record<string, unknown>) => void) => {
          const o = JSON.parse(body.toString()) as Record<string, unknown>;
          edit(o);
          body = Buffer.from(JSON.stringify(o));
        };
        let status = upstream.status;
        if (breakage === 'challenge' && path === '/mcp' && status === 401) delete out['www-authenticate'];
        if (breakage === 'prm-root' && path === '/.well-known/oauth-protected-resource') status = 404;
        if (breakage === 'resource' && path?.startsWith('/.well-known/oauth-protected-resource'))
          json((o) => (o.resource = 'https://elsewhere.example/mcp'));
        if (breakage === 'issuer' && path === '/.well-known/oauth-authorization-server')
          json((o) => (o.issuer = `${frontUrl}/`));
        if (breakage === 'pkce' && path === '/.well-known/oauth-authorization-server')
          json((o) => (o.code_challenge_methods_supported = ['plain']));
        if (breakage === 'cors')
          for (const k of Object.keys(out)) if (k.startsWith('access-control-')) delete out[k];
        res.writeHead(status, { ...out, 'content-length': String(body.length) }).end(body);
      })().catch(() => res.writeHead(502).end());
    });
  });
  return new Promise((resolve) =>
    front.listen(0, '127.0.0.1', () => resolve((front.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  const port = await startFront();
  frontUrl = `http://127.0.0.1:${port}`;
  d = await startDeployment({ publicUrl: frontUrl });
  d.serve(
    '/doctor.json',
    d.document('/doctor.json', 'http://127.0.0.1:33418/callback', { client_name: 'mcpcp doctor' }),
  );
});
afterAll(async () => {
  await d?.close();
  front?.closeAllConnections();
  await new Promise<void>((resolve) => (front ? front.close(() => resolve()) : resolve()));
});

const run = (extra: Partial<Parameters<typeof runDoctor>[0]> = {}) =>
  runDoctor({
    target: `${frontUrl}/mcp`,
    user: 'carol',
    password,
    agent: 'alice',
    clientMetadataUrl: `${d.docsBase}/doctor.json`,
    ...extra,
  });

const statusOf = (report: Awaited<ReturnType<typeof run>>, id: string) =>
  report.checks.find((c) => c.id === id)?.status;

describe('mcpcp doctor', () => {
  it('passes against the test deployment: every check, both flows, a refresh', async () => {
    breakage = 'none';
    const report = await run();
    const failed = report.checks.filter((c) => c.status === 'fail');
    expect(failed).toEqual([]);
    expect(report.ok).toBe(true);
    for (const id of [
      'challenge',
      'challenge-metadata',
      'prm-path',
      'prm-root',
      'resource',
      'as-metadata',
      'issuer',
      'pkce',
      'cimd',
      'dcr',
      'cors',
      'token-cors',
      'flow-dcr',
      'tools-dcr',
      'refresh-dcr',
      'flow-cimd',
      'tools-cimd',
      'refresh-cimd',
    ]) {
      expect([id, statusOf(report, id)]).toEqual([id, 'pass']);
    }
    // http on loopback: a warning that those clients need a public HTTPS URL.
    expect(statusOf(report, 'https')).toBe('warn');
  });

  it.each([
    ['challenge', 'challenge-metadata'],
    ['prm-root', 'prm-root'],
    ['resource', 'resource'],
    ['issuer', 'issuer'],
    ['pkce', 'pkce'],
  ] as const)('names the problem when the front breaks %s', async (what, id) => {
    breakage = what;
    try {
      const report = await run({ user: undefined, password: undefined });
      expect(report.ok).toBe(false);
      const check = report.checks.find((c) => c.id === id)!;
      expect(check.status).toBe('fail');
      expect(check.fix).toBeTruthy();
    } finally {
      breakage = 'none';
    }
  });

  it('warns about CORS when the front strips it', async () => {
    breakage = 'cors';
    try {
      const report = await run({ user: undefined, password: undefined });
      expect(statusOf(report, 'cors')).toBe('warn');
      expect(statusOf(report, 'token-cors')).toBe('warn');
    } finally {
      breakage = 'none';
    }
  });

  it('names a failed sign-in with the reason', async () => {
    const report = await run({ password: 'not the password', clientMetadataUrl: undefined });
    const check = report.checks.find((c) => c.id === 'flow-dcr')!;
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/Wrong user name or password/);
    expect(report.ok).toBe(false);
  });

  it('as a command: --json, exit 0 when healthy and 1 when a check fails', async () => {
    const ok = await execa(process.execPath, [bin, 'doctor', `${frontUrl}/mcp`, '--json'], {
      reject: false,
      timeout: 60_000,
    });
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, target: `${frontUrl}/mcp` });
    breakage = 'issuer';
    try {
      const bad = await execa(process.execPath, [bin, 'doctor', `${frontUrl}/mcp`], {
        reject: false,
        timeout: 60_000,
      });
      expect(bad.exitCode).toBe(1);
      expect(bad.stdout).toMatch(/✗ the metadata issuer is the URL it was found at/);
      expect(bad.stdout).toMatch(/fix: the issuer must equal proxy\.publicUrl/);
    } finally {
      breakage = 'none';
    }
  });
});
