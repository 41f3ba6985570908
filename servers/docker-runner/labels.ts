// The labels on every container the runner creates, and the filters that find them again. A restarted runner removes
// the containers labelled with its own fleet and nothing else: no label, no removal. It must not call Docker.

export const labelKeys = {
  /** The fleet (runner config `fleet`); the one key orphan removal filters on. */
  fleet: 'io.mcpcp.docker-runner.fleet',
  agent: 'io.mcpcp.docker-runner.agent',
  kind: 'io.mcpcp.docker-runner.kind',
  image: 'io.mcpcp.docker-runner.image',
  session: 'io.mcpcp.docker-runner.session',
} as const;

export type ContainerKind = 'run' | 'session';

export function containerLabels(input: {
  fleet: string;
  agent: string;
  kind: ContainerKind;
  image: string;
  session?: string;
}): Record<string, string> {
  return {
    [labelKeys.fleet]: input.fleet,
    [labelKeys.agent]: input.agent,
    [labelKeys.kind]: input.kind,
    [labelKeys.image]: input.image,
    ...(input.session === undefined ? {} : { [labelKeys.session]: input.session }),
  };
}

/** `docker ps --filter` of this fleet's containers, running or not. */
export function fleetFilter(fleet: string): { label: string[] } {
  return { label: [`${labelKeys.fleet}=${fleet}`] };
}
