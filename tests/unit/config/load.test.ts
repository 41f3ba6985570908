import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../config/load.ts';
import { canonicalResource } from '../../../config/schema.ts';
import { normalisePaths, repoRoot } from './helpers.ts';

const examplePath = path.join(repoRoot, 'mcpcp.example.yaml');
const goldenPath = path.join(repoRoot, 'tests/fixtures/config/example.golden.json');

function isDeepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

describe('loadConfig', () => {
  it('loads mcpcp.example.yaml into the committed golden object', async () => {
    const config = await loadConfig(examplePath);
    const golden: unknown = JSON.parse(await readFile(goldenPath, 'utf8'));
    expect(normalisePaths(config)).toEqual(golden);
  });

  it('returns a deep-frozen object', async () => {
    const config = await loadConfig(examplePath);
    expect(isDeepFrozen(config)).toBe(true);
    expect(() => {
      (config.servers as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('loads the same input into a structurally identical object every time', async () => {
    const first = await loadConfig(examplePath);
    const second = await loadConfig(examplePath);
    expect(first).not.toBe(second);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });
});

describe('parseConfig', () => {
  it('fills every default for an empty file', () => {
    const config = parseConfig('', '/srv/mcpcp.yaml');
    expect(config).toEqual({
      proxy: {
        listen: { host: '127.0.0.1', port: 9003 },
        publicUrl: 'http://127.0.0.1:9003',
        issuer: 'http://127.0.0.1:9003',
        keysDir: '/srv/.mcpcp/keys',
        limits: {
          maxBodyBytes: 1_048_576,
          callTimeoutMs: 60_000,
          sessionIdleMs: 1_800_000,
          agentIdleMs: 600_000,
          internalTokenTtlSeconds: 60,
        },
        replicas: 1,
        toolPins: 'hide',
        console: true,
      },
      servers: [],
      groups: {},
      agents: {},
      policy: { rules: [] },
    });
  });

  it('defaults a namespace to the server id and keeps an explicit empty namespace', () => {
    const config = parseConfig(
      'servers:\n  - { id: a, transport: stdio, command: x }\n  - { id: b, namespace: "", transport: stdio, command: y }\n',
      'c.yaml',
      '/srv',
    );
    expect(config.servers.map((s) => s.namespace)).toEqual(['a', '']);
  });

  it('resolves keysDir and cwd against the config folder', () => {
    const text = [
      'proxy: { keysDir: ./keys }',
      'servers:',
      '  - { id: a, transport: stdio, command: x, cwd: sub }',
      '  - { id: b, transport: http, url: "http://127.0.0.1:1/mcp", start: { command: y, cwd: ../up } }',
    ].join('\n');
    const config = parseConfig(text, '/etc/mcpcp/mcpcp.yaml');
    expect(config.proxy.keysDir).toBe('/etc/mcpcp/keys');
    const [a, b] = config.servers;
    expect(a?.transport === 'stdio' && a.cwd).toBe('/etc/mcpcp/sub');
    expect(b?.transport === 'http' && b.start?.cwd).toBe('/etc/up');
  });

  it('derives publicUrl from listen, issuer from publicUrl, and the canonical resource from publicUrl', () => {
    const config = parseConfig('proxy: { listen: { host: "::1", port: 0 } }', 'c.yaml', '/srv');
    expect(config.proxy.publicUrl).toBe('http://[::1]:0');
    expect(config.proxy.issuer).toBe('http://[::1]:0');
    const explicit = parseConfig('proxy: { publicUrl: "https://mcp.example.com/" }', 'c.yaml', '/srv');
    expect(explicit.proxy.publicUrl).toBe('https://mcp.example.com');
    expect(canonicalResource(explicit)).toBe('https://mcp.example.com/mcp');
  });

  it('passes env values written as numbers or booleans to children as strings', () => {
    const config = parseConfig(
      'servers:\n  - { id: a, transport: stdio, command: x, env: { PORT: 9005, DEBUG: true } }',
      'c.yaml',
      '/srv',
    );
    expect(config.servers[0]?.transport === 'stdio' && config.servers[0].env).toEqual({
      PORT: '9005',
      DEBUG: 'true',
    });
  });

  it('supports YAML anchors and merge keys to share server settings', () => {
    const text = [
      'x-node: &node { transport: stdio, command: node, readyTimeoutMs: 5000 }',
      'servers:',
      '  - { <<: *node, id: a }',
      '  - { <<: *node, id: b, args: [b.js] }',
    ].join('\n');
    // `x-node` is not a config key: anchors must live inside known keys, so wrap them in a server instead.
    expect(() => parseConfig(text, 'c.yaml', '/srv')).toThrow(/x-node: unknown key/);
    const inline = [
      'servers:',
      '  - &node { id: a, transport: stdio, command: node, readyTimeoutMs: 5000 }',
      '  - { <<: *node, id: b, args: [b.js] }',
    ].join('\n');
    const config = parseConfig(inline, 'c.yaml', '/srv');
    expect(config.servers.map((s) => [s.id, s.readyTimeoutMs])).toEqual([
      ['a', 5000],
      ['b', 5000],
    ]);
  });

  it('defaults a rate limit burst to requestsPerMinute', () => {
    const config = parseConfig(
      'servers: [{ id: a, transport: stdio, command: x }]\npolicy:\n  rules:\n    - { id: r, subjects: ["*"], servers: [a], rateLimit: { requestsPerMinute: 30 } }',
      'c.yaml',
      '/srv',
    );
    expect(config.policy.rules[0]?.rateLimit).toEqual({ requestsPerMinute: 30, burst: 30 });
  });
});
