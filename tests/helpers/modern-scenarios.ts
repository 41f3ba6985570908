// Protocol 2026-07-28 counterpart of the official conformance suite's server scenarios. The suite
// (0.1.16) has no 2026-07-28 scenarios and its SDK v1 client cannot speak that revision, so these
// mirror its checks with the SDK v2 client pinned to 2026-07-28: same scenario names, same expected
// shapes, plus the revision's own mechanisms (per-request `_meta` log level, `input_required` for
// sampling and elicitation, `subscriptions/listen`, `cacheScope` on lists). Results have the suite's
// ScenarioResult shape (modern-runner.ts runs them). Not official: when the suite gains this revision, use it instead.
import { LOG_LEVEL_META_KEY } from '@modelcontextprotocol/client';
import type { Client, ContentBlock } from '@modelcontextprotocol/client';

export const MODERN_ERA = '2026-07-28';

export type Problems = string[];
export interface Probe {
  client: Client;
  elicitations: Array<{
    params: { requestedSchema?: { properties?: Record<string, Record<string, unknown>> } };
  }>;
  samplings: number;
}
export type Scenario = (probe: Probe) => Promise<Problems>;

const has = (content: ContentBlock[] | undefined, type: string): boolean =>
  !!content?.some((c) => c.type === type);
const need = (ok: unknown, problem: string): Problems => (ok ? [] : [problem]);

async function callContent(
  probe: Probe,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ContentBlock[]> {
  const result = await probe.client.callTool({ name, arguments: args });
  return result.content ?? [];
}

function elicitedProperties(probe: Probe): Record<string, Record<string, unknown>> {
  return probe.elicitations[0]?.params.requestedSchema?.properties ?? {};
}

export const modernScenarios: Readonly<Record<string, Scenario>> = {
  'server-initialize': async ({ client }) => {
    await client.discover();
    return need(client.getNegotiatedProtocolVersion() === MODERN_ERA, 'did not negotiate 2026-07-28');
  },
  // No `ping`: 2026-07-28 removed it (the SDK refuses it on that revision).
  'completion-complete': async ({ client }) => {
    const ref = { type: 'ref/prompt' as const, name: 'test_prompt_with_arguments' };
    const result = await client.complete({ ref, argument: { name: 'arg1', value: 'test' } });
    return need(Array.isArray(result.completion?.values), 'completion.values is not an array');
  },
  'tools-list': async ({ client }) => {
    const result = await client.listTools();
    const incomplete = result.tools
      .filter((t) => !t.name || !t.description || !t.inputSchema)
      .map((t) => t.name);
    return [
      ...need(
        incomplete.length === 0,
        `tools without name/description/inputSchema: ${incomplete.join(', ')}`,
      ),
      ...need(
        (result as { cacheScope?: unknown }).cacheScope === 'private',
        'tools/list is not cacheScope "private"',
      ),
    ];
  },
  'tools-call-simple-text': async (p) =>
    need(has(await callContent(p, 'test_simple_text'), 'text'), 'no text content'),
  'tools-call-image': async (p) =>
    need(has(await callContent(p, 'test_image_content'), 'image'), 'no image content'),
  'tools-call-audio': async (p) => {
    const audio = (await callContent(p, 'test_audio_content')).find((c) => c.type === 'audio');
    return need(audio?.mimeType === 'audio/wav' && audio.data, 'no audio/wav content');
  },
  'tools-call-embedded-resource': async (p) =>
    need(has(await callContent(p, 'test_embedded_resource'), 'resource'), 'no resource content'),
  'tools-call-mixed-content': async (p) => {
    const content = await callContent(p, 'test_multiple_content_types');
    return need(
      ['text', 'image', 'resource'].every((t) => has(content, t)),
      'missing text, image or resource',
    );
  },
  'tools-call-error': async ({ client }) => {
    const result = await client.callTool({ name: 'test_error_handling', arguments: {} });
    return need(result.isError === true && has(result.content, 'text'), 'no isError text result');
  },
  'tools-call-with-logging': async ({ client }) => {
    const logs: unknown[] = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params));
    await client.callTool({
      name: 'test_tool_with_logging',
      arguments: {},
      _meta: { [LOG_LEVEL_META_KEY]: 'debug' },
    });
    return need(logs.length >= 3, `expected 3 log messages, got ${logs.length}`);
  },
  'tools-call-with-progress': async ({ client }) => {
    const progress: number[] = [];
    await client.callTool(
      { name: 'test_tool_with_progress', arguments: {} },
      { onprogress: (p) => void progress.push(p.progress) },
    );
    const increasing = progress.every((value, i) => i === 0 || value >= progress[i - 1]!);
    return need(
      progress.length >= 3 && increasing,
      `expected 3 increasing progress values, got ${progress.join()}`,
    );
  },
  'tools-call-sampling': async (p) => {
    const content = await callContent(p, 'test_sampling', { prompt: 'Test prompt for sampling' });
    return [
      ...need(p.samplings === 1, 'server did not request sampling'),
      ...need(content.length > 0, 'no content'),
    ];
  },
  'tools-call-elicitation': async (p) => {
    const content = await callContent(p, 'test_elicitation', { message: 'Please provide your information' });
    return [
      ...need(p.elicitations.length === 1, 'server did not elicit'),
      ...need(content.length > 0, 'no content'),
    ];
  },
  'json-schema-2020-12': async ({ client }) => {
    const tool = (await client.listTools()).tools.find((t) => t.name === 'json_schema_2020_12_tool');
    const schema = tool?.inputSchema as Record<string, unknown> | undefined;
    return need(
      schema?.$schema === 'https://json-schema.org/draft/2020-12/schema' &&
        typeof schema.$defs === 'object' &&
        schema.additionalProperties === false,
      '$schema, $defs or additionalProperties not preserved',
    );
  },
  'elicitation-sep1034-defaults': async (p) => {
    await callContent(p, 'test_elicitation_sep1034_defaults');
    const props = elicitedProperties(p);
    const defaults = { name: 'John Doe', age: 30, score: 95.5, status: 'active', verified: true };
    const wrong = Object.entries(defaults).filter(([key, value]) => props[key]?.default !== value);
    return need(wrong.length === 0, `wrong defaults: ${wrong.map(([key]) => key).join(', ')}`);
  },
  'elicitation-sep1330-enums': async (p) => {
    await callContent(p, 'test_elicitation_sep1330_enums');
    const props = elicitedProperties(p);
    const items = (key: string): Record<string, unknown> =>
      (props[key]?.items ?? {}) as Record<string, unknown>;
    return need(
      Array.isArray(props.untitledSingle?.enum) &&
        Array.isArray(props.titledSingle?.oneOf) &&
        Array.isArray(props.legacyEnum?.enumNames) &&
        Array.isArray(items('untitledMulti').enum) &&
        Array.isArray(items('titledMulti').anyOf),
      'one of the five enum shapes is missing',
    );
  },
  'resources-list': async ({ client }) => {
    const { resources } = await client.listResources();
    return need(
      resources.length > 0 && resources.every((r) => r.uri && r.name),
      'resources missing uri or name',
    );
  },
  'resources-read-text': async ({ client }) => {
    const [first] = (await client.readResource({ uri: 'test://static-text' })).contents;
    return need(first && 'text' in first && first.mimeType, 'no text content with mimeType');
  },
  'resources-read-binary': async ({ client }) => {
    const [first] = (await client.readResource({ uri: 'test://static-binary' })).contents;
    return need(first && 'blob' in first && first.mimeType, 'no blob content with mimeType');
  },
  'resources-templates-read': async ({ client }) => {
    const [first] = (await client.readResource({ uri: 'test://template/123/data' })).contents;
    return need(first && 'text' in first && first.text.includes('123'), 'template parameter not substituted');
  },
  'subscriptions-listen': async ({ client }) => {
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const subscription = await client.listen({ resourceSubscriptions: ['test://watched-resource'] });
    await client.callTool({ name: 'test_update_watched_resource', arguments: {} });
    for (let waited = 0; updates.length === 0 && waited < 2_000; waited += 50)
      await new Promise((r) => setTimeout(r, 50));
    await subscription.close();
    return need(
      updates.includes('test://watched-resource'),
      'no notifications/resources/updated on the listen stream',
    );
  },
  'prompts-list': async ({ client }) => {
    const { prompts } = await client.listPrompts();
    return need(
      prompts.length > 0 && prompts.every((x) => x.name && x.description),
      'prompts missing name or description',
    );
  },
  'prompts-get-simple': async ({ client }) =>
    need((await client.getPrompt({ name: 'test_simple_prompt' })).messages.length > 0, 'no messages'),
  'prompts-get-with-args': async ({ client }) => {
    const args = { arg1: 'testValue1', arg2: 'testValue2' };
    const text = JSON.stringify(
      (await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: args })).messages,
    );
    return need(text.includes('testValue1') && text.includes('testValue2'), 'arguments not substituted');
  },
  'prompts-get-embedded-resource': async ({ client }) => {
    const args = { resourceUri: 'test://example-resource' };
    const { messages } = await client.getPrompt({
      name: 'test_prompt_with_embedded_resource',
      arguments: args,
    });
    return need(
      messages.some((m) => m.content.type === 'resource'),
      'no embedded resource',
    );
  },
  'prompts-get-with-image': async ({ client }) => {
    const { messages } = await client.getPrompt({ name: 'test_prompt_with_image' });
    return need(
      messages.some((m) => m.content.type === 'image'),
      'no image content',
    );
  },
};

export const MODERN_SCENARIOS: readonly string[] = Object.keys(modernScenarios);
