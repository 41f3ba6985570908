// The `oauth` section: defaults, resolved paths, and every refusal naming file:line:col and the field.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { McpcpError } from '../../../lib/errors.ts';

const hash = `scrypt$1024$8$1$${'a'.repeat(22)}$${'b'.repeat(43)}`;

function failure(text: string): McpcpError {
  try {
    parseConfig(text, 'fleet.yaml', '/srv');
  } catch (error) {
    if (error instanceof McpcpError) return error;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

const base = `agents:
  alice: {}
oauth:
`;

describe('the oauth section', () => {
  it('fills defaults and resolves the store and CA paths against the config folder', () => {
    const config = parseConfig(
      `${base}  users:\n    carol: { passwordHash: "${hash}", agents: [alice] }\n  development: { trustedCaFile: ca.pem }\n`,
      'fleet.yaml',
      '/srv',
    );
    const oauth = config.oauth!;
    expect(oauth.enabled).toBe(true);
    expect(oauth.store).toBe('/srv/.mcpcp/oauth.db');
    expect(oauth.development).toEqual({ allowLoopbackClientIds: false, trustedCaFile: '/srv/ca.pem' });
    expect(Object.keys(oauth.scopes)).toEqual(['mcp']);
    expect(oauth.lifetimes.accessTokenSeconds).toBe(600);
    expect(oauth.clients).toMatchObject({
      metadataDocuments: true,
      registration: true,
      maxDocumentBytes: 16384,
    });
  });

  it('refuses a plain password where the hash belongs', () => {
    const error = failure(`${base}  users:\n    carol: { passwordHash: hunter2, agents: [alice] }\n`);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toMatch(/^fleet\.yaml:5:\d+: oauth\.users\.carol\.passwordHash: .*mcpcp users add/);
  });

  it('refuses an agent the config does not know', () => {
    const error = failure(`${base}  users:\n    carol: { passwordHash: "${hash}", agents: [alice, zed] }\n`);
    expect(error.message).toMatch(
      /^fleet\.yaml:5:\d+: oauth\.users\.carol\.agents\[1\]: unknown agent "zed"/,
    );
  });

  it('refuses an issuer other than the public URL', () => {
    const error = failure(
      `proxy:\n  publicUrl: https://mcp.example\n  issuer: https://login.example\n${base}  users: {}\n`,
    );
    expect(error.message).toMatch(/^fleet\.yaml:3:\d+: proxy\.issuer: .*built-in authorization server/);
  });

  it('refuses a remote JWKS (the server signs with keysDir)', () => {
    const error = failure(`proxy:\n  jwksUrl: https://keys.example/jwks.json\n${base}  users: {}\n`);
    expect(error.message).toMatch(/proxy\.jwksUrl: .*keysDir/);
  });

  it('keeps a postgres:// store as written, and refuses a file store shared by several proxy replicas', () => {
    const shared = parseConfig(
      `proxy:\n  replicas: 2\n${base}  store: postgres://mcpcp@db:5432/mcpcp?schema=oauth\n  users: {}\n`,
      'fleet.yaml',
      '/srv',
    );
    expect(shared.oauth!.store).toBe('postgres://mcpcp@db:5432/mcpcp?schema=oauth');
    const error = failure(`proxy:\n  replicas: 2\n${base}  store: oauth.db\n  users: {}\n`);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toMatch(
      /^fleet\.yaml:6:\d+: oauth\.store: 2 proxy replicas need one shared OAuth store.*postgres:\/\//,
    );
    // The default store is a file too.
    expect(failure(`proxy:\n  replicas: 3\n${base}  users: {}\n`).message).toMatch(
      /oauth\.store: 3 proxy replicas need one shared OAuth store/,
    );
  });

  it('refuses unknown keys and bad scope names', () => {
    expect(failure(`${base}  userz: {}\n`).message).toMatch(/^fleet\.yaml:4:3: oauth\.userz: unknown key/);
    expect(failure(`${base}  scopes:\n    "bad scope": { description: x, allow: ['*'] }\n`).message).toMatch(
      /oauth\.scopes.*scope names must match/,
    );
  });

  it('ignores the checks when the section is disabled', () => {
    const config = parseConfig(
      `${base}  enabled: false\n  users:\n    carol: { passwordHash: "${hash}", agents: [zed] }\n`,
      'fleet.yaml',
      '/srv',
    );
    expect(config.oauth?.enabled).toBe(false);
  });
});
