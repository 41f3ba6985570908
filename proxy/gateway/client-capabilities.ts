// What a calling agent declared it can answer, as far as the relay cares: a child's sampling, elicitation
// or roots request is put to the agent only when the agent declared that capability. Otherwise the
// child's request is refused at once with -32021 (MissingRequiredClientCapability) naming what is
// missing, so the child (and the agent, through the child's failure) learns why, instead of a bare
// "Method not found". Tools stay listed whatever the agent declared: a tool's needs are known only when
// its server asks, mid-call. It must not decide who may call what.
import { ProtocolError } from '@modelcontextprotocol/server';
import type { ChildRequest } from '../upstreams/index.ts';

/** The SDKs' code for a request the client's declared capabilities cannot serve (2026-07-28, -32021). */
export const missingCapabilityCode = -32021;

type Capabilities = Record<string, unknown> | undefined;

/** The client capability a child's request needs, or undefined for one the relay does not gate. */
function needed(request: ChildRequest): { name: string; shape: Record<string, unknown> } | undefined {
  switch (request.method) {
    case 'sampling/createMessage':
      return { name: 'sampling', shape: { sampling: {} } };
    case 'roots/list':
      return { name: 'roots', shape: { roots: {} } };
    case 'elicitation/create': {
      const mode = (request.params as { mode?: unknown } | undefined)?.mode === 'url' ? 'url' : 'form';
      return { name: `elicitation (${mode} mode)`, shape: { elicitation: { [mode]: {} } } };
    }
    default:
      return undefined;
  }
}

function declares(capabilities: Capabilities, request: ChildRequest): boolean {
  const caps = capabilities ?? {};
  switch (request.method) {
    case 'sampling/createMessage':
      return caps.sampling !== undefined;
    case 'roots/list':
      return caps.roots !== undefined;
    case 'elicitation/create': {
      const elicitation = caps.elicitation as Record<string, unknown> | undefined;
      if (elicitation === undefined) return false;
      const url = (request.params as { mode?: unknown } | undefined)?.mode === 'url';
      // A client declaring `elicitation: {}` supports form mode (the spec's backwards-compatible reading).
      if (url) return elicitation.url !== undefined;
      return elicitation.form !== undefined || Object.keys(elicitation).length === 0;
    }
    default:
      return true;
  }
}

/** Refuses a child's request the calling agent did not declare it can answer; undefined when it can. */
export function refuseUndeclared(
  request: ChildRequest,
  capabilities: Capabilities,
  server: string | undefined,
): ProtocolError | undefined {
  if (declares(capabilities, request)) return undefined;
  const need = needed(request);
  if (need === undefined) return undefined;
  return new ProtocolError(
    missingCapabilityCode,
    `Missing required client capability: the calling agent did not declare ${need.name}, which ${server === undefined ? 'the server' : `server ${server}`} asked for (${request.method})`,
    { requiredCapabilities: need.shape },
  );
}
