// What each protocol era's serving (legacy.ts: 2025 sessions; modern.ts: 2026-07-28) offers the
// gateway's entry: one handler for a request already authenticated by the edge, and a close.
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Principal } from './types.ts';

export interface EraServing {
  handle(request: Request, principal: Principal, parsedBody: unknown, authInfo: AuthInfo): Promise<Response>;
  close(): Promise<void>;
}
