// `mcpcp doctor URL`: checks a deployment the way claude.ai, ChatGPT and the MCP Inspector will, and prints a
// checklist with the fix for each miss (launcher/doctor/). With --user it also signs in (DCR, and CIMD with
// --client-metadata-url), lists tools, refreshes and revokes. Exit 0 when nothing failed, 1 otherwise.
import { runStaticChecks } from '../doctor/checks.ts';
import { doctorRedirectUri, runFlow } from '../doctor/flow.ts';
import { buildReport, renderReport, type CheckResult } from '../doctor/report.ts';
import { McpcpError } from '../../lib/errors.ts';
import { withUsageErrors } from '../auth-settings.ts';
import type { Register } from '../cli.ts';
import { readPassword } from '../password-prompt.ts';

export interface DoctorOptions {
  target: string;
  user?: string | undefined;
  password?: string | undefined;
  agent?: string | undefined;
  clientMetadataUrl?: string | undefined;
  fetchFn?: typeof fetch;
}

/** Every check, in order; the flows run only with credentials and a working discovery. */
export async function runDoctor(options: DoctorOptions): Promise<ReturnType<typeof buildReport>> {
  const { checks, discovery } = await runStaticChecks(options.target, options.fetchFn);
  const results: CheckResult[] = [...checks];
  const meta = discovery.asMetadata;
  const tokenEndpoint = typeof meta?.token_endpoint === 'string' ? meta.token_endpoint : undefined;
  if (options.user === undefined || options.password === undefined) {
    results.push({
      id: 'flow',
      title: 'sign-in, tools/list and refresh',
      status: 'skip',
      detail: 'pass --user NAME --agent AGENT --password-stdin to run a full flow',
    });
  } else if (tokenEndpoint === undefined) {
    results.push({
      id: 'flow',
      title: 'sign-in, tools/list and refresh',
      status: 'skip',
      detail: 'no authorization server metadata',
    });
  } else {
    const common = {
      target: options.target,
      user: options.user,
      password: options.password,
      agent: options.agent ?? options.user,
      tokenEndpoint,
      revocationEndpoint:
        typeof meta?.revocation_endpoint === 'string' ? meta.revocation_endpoint : undefined,
      ...(options.fetchFn === undefined ? {} : { fetchFn: options.fetchFn }),
    };
    if (typeof meta?.registration_endpoint === 'string') results.push(...(await runFlow(common)));
    if (options.clientMetadataUrl !== undefined) {
      results.push(...(await runFlow({ ...common, clientMetadataUrl: options.clientMetadataUrl })));
    } else {
      results.push({
        id: 'flow-cimd',
        title: 'sign-in by a Client ID Metadata Document',
        status: 'skip',
        detail: `pass --client-metadata-url URL (an https document whose redirect_uris list ${doctorRedirectUri}) to try it`,
      });
    }
  }
  return buildReport(options.target, results);
}

export const registerDoctor: Register = (program) => {
  program
    .command('doctor')
    .description(
      'check a deployment the way claude.ai, ChatGPT and the MCP Inspector will; a checklist with fixes',
    )
    .argument('<url>', 'the MCP endpoint, e.g. https://mcp.example.com/mcp')
    .option('--user <name>', 'sign in as this person for a full flow (needs --password-stdin or a terminal)')
    .option('--agent <agent>', 'the agent to choose at consent (default: the user name)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option(
      '--client-metadata-url <url>',
      `also register by this Client ID Metadata Document (its redirect_uris must list ${doctorRedirectUri})`,
    )
    .option('--json', 'print the report as JSON')
    .action(
      withUsageErrors(
        async (
          url: string,
          flags: {
            user?: string;
            agent?: string;
            passwordStdin?: boolean;
            clientMetadataUrl?: string;
            json?: boolean;
          },
        ) => {
          try {
            new URL(url);
          } catch {
            throw new McpcpError('ERR_INVALID_ARGUMENT', `not a URL: ${url}`);
          }
          const password =
            flags.user === undefined
              ? undefined
              : await readPassword({ fromStdin: flags.passwordStdin === true, confirm: false });
          const report = await runDoctor({
            target: url,
            user: flags.user,
            password,
            agent: flags.agent,
            clientMetadataUrl: flags.clientMetadataUrl,
          });
          process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : renderReport(report));
          if (!report.ok) process.exitCode = 1;
        },
      ),
    );
};
