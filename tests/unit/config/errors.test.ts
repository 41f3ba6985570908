import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../config/load.ts';
import type { ConfigIssue } from '../../../config/load.ts';
import { McpcpError } from '../../../lib/errors.ts';

function failure(text: string): McpcpError {
  try {
    parseConfig(text, 'fleet.yaml', '/srv');
  } catch (error) {
    if (error instanceof McpcpError) return error;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

function issuesOf(error: McpcpError): ConfigIssue[] {
  return (error.details?.issues ?? []) as ConfigIssue[];
}

const server = (id: string, extra = '') => `  - { id: ${id}, transport: stdio, command: node${extra} }`;

describe('config errors', () => {
  it('reports invalid YAML as ERR_CONFIG_YAML with the line', () => {
    const error = failure('proxy:\n  listen: [1, 2\nservers: []\n');
    expect(error.code).toBe('ERR_CONFIG_YAML');
    expect(error.message).toMatch(/^fleet\.yaml:3:\d+: invalid YAML: /);
  });

  it('reports a duplicate YAML key as ERR_CONFIG_YAML', () => {
    const error = failure('proxy: {}\nproxy: {}\n');
    expect(error.code).toBe('ERR_CONFIG_YAML');
    expect(error.message).toMatch(/^fleet\.yaml:2:1: invalid YAML: Map keys must be unique/);
  });

  it('reports a wrong type with file:line:col and the field path', () => {
    const error = failure('proxy:\n  listen:\n    port: "8080"\n');
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe('fleet.yaml:3:11: proxy.listen.port: expected number, got string "8080"');
  });

  it('refuses an idle limit that is not a positive whole number of ms', () => {
    const error = failure('proxy:\n  limits: { agentIdleMs: 0 }\n');
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toMatch(/^fleet\.yaml:2:\d+: proxy\.limits\.agentIdleMs: /);
  });

  it('reports an unknown top-level key at the key', () => {
    const error = failure('proxy: {}\nservrs: []\n');
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe('fleet.yaml:2:1: servrs: unknown key "servrs"');
  });

  it('reports an unknown nested key at the key', () => {
    const error = failure(
      `servers:\n${server('a')}\n  - id: b\n    transport: stdio\n    command: node\n    comand: x\n`,
    );
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe('fleet.yaml:6:5: servers[1].comand: unknown key "comand"');
  });

  it('reports a missing required field at its parent', () => {
    const error = failure('servers:\n  - id: a\n    transport: http\n');
    expect(error.message).toBe('fleet.yaml:2:5: servers[0].url: is required (string)');
  });

  it('reports an unknown transport', () => {
    const error = failure('servers:\n  - id: a\n    transport: ftp\n');
    expect(error.message).toBe('fleet.yaml:3:16: servers[0].transport: transport must be "stdio" or "http"');
  });

  it('reports duplicate server ids once, at the second id', () => {
    const error = failure(`servers:\n${server('a')}\n${server('a')}\n`);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe('fleet.yaml:3:11: servers[1].id: duplicate server id "a" (also servers[0])');
  });

  it('reports duplicate namespaces, including one defaulted from an id', () => {
    const error = failure(`servers:\n${server('a')}\n${server('b', ', namespace: a')}\n`);
    expect(error.message).toBe(
      'fleet.yaml:3:58: servers[1].namespace: duplicate namespace "a" (also servers[0])',
    );
  });

  it('reports two servers without a prefix as duplicate namespaces', () => {
    const error = failure(`servers:\n${server('a', ', namespace: ""')}\n${server('b', ', namespace: ""')}\n`);
    expect(error.message).toContain('servers[1].namespace: duplicate namespace ""');
  });

  it('reports bad names: server id, namespace, agent, group, member and rule id', () => {
    const error = failure(
      [
        'servers:',
        server('Bad_Id'),
        server('ok', ', namespace: "has space"'),
        'groups:',
        '  "g/x": [alice]',
        '  good: ["bob smith"]',
        'agents:',
        '  "al ice": {}',
        'policy:',
        '  rules:',
        '    - { id: "r 1", subjects: ["*"], servers: [ok] }',
      ].join('\n'),
    );
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    const where = issuesOf(error).map((i) => `${i.line}:${i.path}`);
    expect(where).toEqual([
      '2:servers[0].id',
      '3:servers[1].namespace',
      '5:groups["g/x"]',
      '6:groups.good[0]',
      '8:agents["al ice"]',
      '11:policy.rules[0].id',
    ]);
    expect(error.message.split('\n')).toHaveLength(6);
  });

  it('reports a rule naming an unknown server', () => {
    const error = failure(
      `servers:\n${server('a')}\npolicy:\n  rules:\n    - id: r\n      subjects: [alice]\n      servers: [a, b]\n`,
    );
    expect(error.message).toBe('fleet.yaml:7:20: policy.rules[0].servers[1]: unknown server "b" (known: a)');
  });

  it('reports a rule naming an unknown group', () => {
    const error = failure(
      `servers:\n${server('a')}\ngroups: { ops: [bob] }\npolicy:\n  rules:\n    - id: r\n      subjects: [alice, "group:players"]\n      servers: [a]\n`,
    );
    expect(error.message).toBe(
      'fleet.yaml:7:25: policy.rules[0].subjects[1]: unknown group "players" (known: ops)',
    );
  });

  it('reports duplicate rule ids', () => {
    const rule = '    - { id: r, subjects: ["*"], servers: [a] }';
    const error = failure(`servers:\n${server('a')}\npolicy:\n  rules:\n${rule}\n${rule}\n`);
    expect(error.message).toBe(
      'fleet.yaml:6:13: policy.rules[1].id: duplicate rule id "r" (also policy.rules[0])',
    );
  });

  it('rejects a publicUrl with a path', () => {
    const error = failure('proxy:\n  publicUrl: http://127.0.0.1:8080/mcp\n');
    expect(error.message).toMatch(
      /^fleet\.yaml:2:14: proxy\.publicUrl: publicUrl must be an http\(s\) URL without path/,
    );
  });

  it('rejects an invalid argument-constraint pattern', () => {
    const error = failure(
      `servers:\n${server('a')}\npolicy:\n  rules:\n    - id: r\n      subjects: ["*"]\n      servers: [a]\n      arguments:\n        a_echo:\n          message: { pattern: "([" }\n`,
    );
    expect(error.message).toMatch(
      /^fleet\.yaml:10:31: policy\.rules\[0\]\.arguments\.a_echo\.message\.pattern: pattern must be a valid regular expression/,
    );
  });

  it('rejects argument constraints for a tool the rule does not allow', () => {
    const error = failure(
      `servers:\n${server('a')}\npolicy:\n  rules:\n    - id: r\n      subjects: ["*"]\n      servers: [a]\n      allow: [a_echo]\n      arguments:\n        a_ecko: { message: { maxLength: 5 } }\n`,
    );
    expect(error.message).toBe(
      'fleet.yaml:10:17: policy.rules[0].arguments.a_ecko: no allow glob of rule "r" matches "a_ecko", so these constraints would never apply',
    );
  });

  it('rejects an http url with port 0 unless the launcher starts the server', () => {
    const error = failure('servers:\n  - { id: a, transport: http, url: "http://127.0.0.1:0/mcp" }\n');
    expect(error.message).toMatch(/^fleet\.yaml:2:36: servers\[0\]\.url: port 0 means/);
    expect(() =>
      parseConfig(
        'servers:\n  - { id: a, transport: http, url: "http://127.0.0.1:0/mcp", start: { command: node } }\n',
        'fleet.yaml',
        '/srv',
      ),
    ).not.toThrow();
  });

  it('lists every problem, one per line, with structured issues in details', () => {
    const error = failure('proxy: { listen: { port: -1 } }\nservers: 3\nextra: true\n');
    expect(error.message.split('\n')).toHaveLength(3);
    expect(issuesOf(error).map((i) => i.path)).toEqual(['proxy.listen.port', 'servers', 'extra']);
    expect(issuesOf(error)[0]).toMatchObject({ file: 'fleet.yaml', line: 1, col: 26 });
  });

  it('reports a missing file as ERR_CONFIG_NOT_FOUND naming the file', async () => {
    const missing = path.join(os.tmpdir(), 'mcpcp-no-such-dir', 'mcpcp.yaml');
    await expect(loadConfig(missing)).rejects.toMatchObject({
      code: 'ERR_CONFIG_NOT_FOUND',
      message: expect.stringContaining(missing),
    });
  });
});
