// The fleet as a proxy alone knows it (no launcher): its upstreams, and restart / stop of the children it runs
// itself (stdio). `mcpcp up` hands the console a fuller FleetControl that also runs the launcher's HTTP children
// (launcher/fleet/fleet.ts). It must not start processes of its own.
import type { McpcpConfig } from '../../config/schema.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Gateway } from '../gateway/index.ts';
import type { FleetControl, FleetRow } from './types.ts';

export function fleetFromGateway(
  gateway: Pick<Gateway, 'upstreamStates' | 'controlChild'>,
  servers: McpcpConfig['servers'],
): FleetControl {
  const act = async (id: string, action: 'restart' | 'stop') => {
    if (!servers.some((s) => s.id === id)) throw new McpcpError('ERR_NOT_FOUND', `no server ${id}`);
    if (!(await gateway.controlChild(id, action)))
      throw new McpcpError('ERR_FORBIDDEN', `${id} is not run by this proxy; restart it where it runs`);
  };
  return {
    rows: () =>
      gateway.upstreamStates().map((s): FleetRow => ({
        ...s,
        stderrTail: s.state === 'ready' ? undefined : s.stderrTail,
        owner: s.transport === 'stdio' ? 'proxy' : 'external',
      })),
    restart: (id) => act(id, 'restart'),
    stop: (id) => act(id, 'stop'),
  };
}
