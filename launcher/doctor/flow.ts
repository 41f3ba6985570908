// `mcpcp doctor`'s full flow, with the SDK client's own OAuth support as a real client would run it: discovery
// from the 401, registration (by a Client ID Metadata Document or by DCR), sign-in and consent, the code
// exchange, tools/list with the token, a refresh (which must rotate the refresh token), and finally the
// revocation of what it was given, so the doctor leaves no grant behind.
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/client';
import type { CheckResult } from './report.ts';
import { signInAndConsent } from './sign-in.ts';

export interface FlowOptions {
  target: string;
  user: string;
  password: string;
  agent: string;
  /** Register by this metadata document instead of DCR. */
  clientMetadataUrl?: string | undefined;
  tokenEndpoint: string;
  revocationEndpoint?: string | undefined;
  fetchFn?: typeof fetch;
}

type Tokens = { access_token: string; token_type: string; refresh_token?: string };

class DoctorProvider implements OAuthClientProvider {
  clientMetadataUrl?: string;
  authorizationUrl: URL | undefined;
  client: { client_id: string } | undefined;
  stored: Tokens | undefined;
  #verifier = '';
  #discovery: unknown;
  readonly redirectUrl: string;
  constructor(redirectUrl: string, clientMetadataUrl: string | undefined) {
    this.redirectUrl = redirectUrl;
    if (clientMetadataUrl !== undefined) this.clientMetadataUrl = clientMetadataUrl;
  }
  get clientMetadata() {
    return {
      client_name: 'mcpcp doctor',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: { client_id: string }) {
    this.client = info;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: Tokens) {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  saveDiscoveryState(state: unknown) {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery as never;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The doctor's redirect URI. Nothing listens there: the doctor reads the redirect instead of following it. A
 * metadata document given with --client-metadata-url must list it.
 */
export const doctorRedirectUri = 'http://127.0.0.1:33418/callback';

export async function runFlow(options: FlowOptions): Promise<CheckResult[]> {
  const how = options.clientMetadataUrl === undefined ? 'dcr' : 'cimd';
  const label = how === 'dcr' ? 'Dynamic Client Registration' : 'a Client ID Metadata Document';
  const fetchFn = options.fetchFn ?? fetch;
  const results: CheckResult[] = [];
  const fail = (id: string, title: string, error: unknown, fix: string): CheckResult[] => {
    results.push({ id: `${id}-${how}`, title, status: 'fail', detail: message(error), fix });
    return results;
  };
  let provider: DoctorProvider;
  try {
    provider = new DoctorProvider(doctorRedirectUri, options.clientMetadataUrl);
    const first = new Client({ name: 'mcpcp-doctor', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(options.target), {
      authProvider: provider,
      fetch: fetchFn,
    });
    const connected = await first.connect(transport).then(
      () => true,
      (error: unknown) => {
        if (error instanceof UnauthorizedError) return false;
        throw error;
      },
    );
    if (connected || provider.authorizationUrl === undefined)
      throw new Error('the server did not ask for authorization');
    const callback = await signInAndConsent(provider.authorizationUrl.toString(), options, fetchFn);
    if (callback.get('error') !== null)
      throw new Error(`${callback.get('error')}: ${callback.get('error_description') ?? ''}`);
    await transport.finishAuth(callback);
    await first.close().catch(() => undefined);
    results.push({
      id: `flow-${how}`,
      title: `sign-in by ${label}`,
      status: 'pass',
      detail: `client ${provider.client?.client_id ?? '?'}, agent ${options.agent}`,
    });
  } catch (error) {
    return fail(
      'flow',
      `sign-in by ${label}`,
      error,
      'read the message; `mcpcp doctor` signs in as --user on MCPCP’s own sign-in page',
    );
  }

  try {
    const client = new Client({ name: 'mcpcp-doctor', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(options.target), { authProvider: provider, fetch: fetchFn }),
    );
    const tools = (await client.listTools()).tools.map((t) => t.name);
    await client.close();
    results.push({
      id: `tools-${how}`,
      title: `tools/list with the token (${label})`,
      status: 'pass',
      detail: `${tools.length} tools`,
    });
  } catch (error) {
    return fail(
      'tools',
      `tools/list with the token (${label})`,
      error,
      'the token was issued but /mcp refused it: check proxy.publicUrl and the keys',
    );
  }

  const refresh = provider.stored?.refresh_token;
  const clientId = provider.client?.client_id ?? '';
  try {
    if (refresh === undefined) throw new Error('no refresh token was issued');
    const response = await fetchFn(options.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        client_id: clientId,
        resource: options.target,
      }),
    });
    const body = (await response.json()) as { refresh_token?: string; error?: string };
    if (response.status !== 200) throw new Error(`HTTP ${response.status} ${body.error ?? ''}`);
    if (body.refresh_token === undefined || body.refresh_token === refresh)
      throw new Error('the refresh token was not rotated');
    results.push({ id: `refresh-${how}`, title: `token refresh (${label})`, status: 'pass' });
    if (options.revocationEndpoint !== undefined) {
      await fetchFn(options.revocationEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: body.refresh_token,
          token_type_hint: 'refresh_token',
          client_id: clientId,
        }),
      });
    }
  } catch (error) {
    return fail(
      'refresh',
      `token refresh (${label})`,
      error,
      'grant_types must include refresh_token, and refresh tokens must rotate',
    );
  }
  return results;
}
