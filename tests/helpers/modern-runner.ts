// Runs the 2026-07-28 mirror scenarios of modern-scenarios.ts with the SDK v2 client pinned to that
// revision, one fresh client per scenario, headers sent directly (no forwarder needed), and reports
// them in the official suite's ScenarioResult shape.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { ConformanceCheck, ScenarioResult } from './conformance.ts';
import { MODERN_ERA, MODERN_SCENARIOS, modernScenarios } from './modern-scenarios.ts';
import type { Probe, Problems, Scenario } from './modern-scenarios.ts';

async function connect(
  url: string,
  headers: Record<string, string> | undefined,
  probe: Omit<Probe, 'client'>,
): Promise<Client> {
  const client = new Client(
    { name: 'mcpcp-modern-conformance', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: { pin: MODERN_ERA } } },
  );
  client.setRequestHandler('sampling/createMessage', () => {
    probe.samplings += 1;
    const content = { type: 'text' as const, text: 'This is a test response from the client' };
    return { role: 'assistant' as const, content, model: 'test-model', stopReason: 'endTurn' };
  });
  client.setRequestHandler('elicitation/create', (request) => {
    probe.elicitations.push(request as Probe['elicitations'][number]);
    return { action: 'accept' as const, content: { username: 'testuser', email: 'test@example.com' } };
  });
  const transport = new StreamableHTTPClientTransport(
    new URL(url),
    headers ? { requestInit: { headers } } : {},
  );
  await client.connect(transport);
  return client;
}

async function runOne(
  name: string,
  scenario: Scenario,
  url: string,
  headers?: Record<string, string>,
): Promise<ScenarioResult> {
  const state: Omit<Probe, 'client'> = { elicitations: [], samplings: 0 };
  let client: Client | undefined;
  let problems: Problems;
  try {
    client = await connect(url, headers, state);
    problems = await scenario(Object.assign(state, { client }));
  } catch (error) {
    problems = [`Failed: ${error instanceof Error ? error.message : String(error)}`];
  } finally {
    await client?.close().catch(() => {});
  }
  const check: ConformanceCheck = {
    id: name,
    name,
    description: `${name} (2026-07-28 mirror of the official scenario)`,
    status: problems.length === 0 ? 'SUCCESS' : 'FAILURE',
    ...(problems.length > 0 ? { errorMessage: problems.join('; ') } : {}),
  };
  const failures = problems.length > 0 ? [{ id: name, message: problems.join('; ') }] : [];
  return {
    scenario: name,
    passed: failures.length === 0,
    details: { succeeded: failures.length ? [] : [name], failures, warnings: [], checks: [check] },
  };
}

/** Runs the 2026-07-28 mirror scenarios (all, or `only`) one after the other, each with a fresh client. */
export async function runModernScenarios(options: {
  url: string;
  headers?: Record<string, string>;
  scenarios?: readonly string[];
}): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const name of options.scenarios ?? MODERN_SCENARIOS) {
    const scenario = modernScenarios[name];
    results.push(
      scenario
        ? await runOne(name, scenario, options.url, options.headers)
        : {
            scenario: name,
            passed: false,
            details: {
              succeeded: [],
              failures: [{ id: name, message: 'unknown scenario' }],
              warnings: [],
              checks: [],
            },
          },
    );
  }
  return results;
}
