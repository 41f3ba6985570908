// The only place that branches on a server's transport.
import type { Logger } from '../../lib/log.ts';
import type { ServerConfig } from '../../config/schema.ts';
import { createHttpUpstream, type ChildTokenIssuer } from './http.ts';
import { createStdioUpstream, type StdioSupervision } from './stdio.ts';
import type { Upstream, UpstreamHooks } from './types.ts';

export type {
  CallerEra,
  Upstream,
  UpstreamConnection,
  UpstreamHooks,
  UpstreamStatus,
  ChildRequest,
  ChildNotification,
} from './types.ts';
export type { StdioSupervision } from './stdio.ts';
export { isSessionExpired, isStaleConnection } from './http.ts';

export function createUpstream(
  config: ServerConfig,
  deps: {
    hooks: UpstreamHooks;
    logger: Logger;
    childTokens?: ChildTokenIssuer;
    healthIntervalMs?: number;
    supervision?: StdioSupervision;
    /** The HTTP lanes (child-http-transport.ts's direct POST); default on. */
    directLanes?: boolean;
  },
): Upstream {
  switch (config.transport) {
    case 'stdio':
      return createStdioUpstream({
        config,
        hooks: deps.hooks,
        logger: deps.logger,
        ...(deps.supervision === undefined ? {} : { supervision: deps.supervision }),
      });
    case 'http':
      return createHttpUpstream({
        config,
        hooks: deps.hooks,
        logger: deps.logger,
        ...(deps.childTokens === undefined ? {} : { childTokens: deps.childTokens }),
        ...(deps.healthIntervalMs === undefined ? {} : { healthIntervalMs: deps.healthIntervalMs }),
        directLanes: deps.directLanes ?? true,
      });
  }
}
