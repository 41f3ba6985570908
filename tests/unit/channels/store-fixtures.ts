// Records for the channel store tests: a channel with a bot slot and an invite slot, a bot attached to its bot
// slot, and a system message draft. Shared by the contract suite and the PostgreSQL-only tests.
import type { BotRecord, ChannelRecord } from '../../../servers/channels/store/types.ts';
import type { MessageDraft } from '../../../servers/channels/transcript.ts';

export const systemDraft = (kind: string, body: unknown = {}): MessageDraft => ({
  ts: 1_000,
  from: { type: 'system' },
  kind,
  body,
});

export function channelRecord(id: string, admin = 'alice'): ChannelRecord {
  return {
    id,
    name: 'table',
    admin,
    createdAt: 1_000,
    closedAt: null,
    slots: [
      { id: 's0', kind: 'bot', label: 'ref', agent: null, seed: null },
      { id: 's1', kind: 'invite', label: 'a', agent: null, seed: null },
    ],
    version: 1,
  };
}

export function botRecord(channelId: string): BotRecord {
  return {
    channelId,
    slotId: 's0',
    name: 'inline',
    codeHash: 'a'.repeat(64),
    params: null,
    manifest: {},
    limits: { memoryBytes: 1, instructions: 1, wallMs: 1 },
    runnerVersion: 'test',
    state: null,
    epoch: 1,
    seed: 'b'.repeat(64),
    commitment: 'c'.repeat(64),
    lockedSeeds: null,
    randomKey: 'd'.repeat(64),
    randomCounter: 0,
    version: 0,
  };
}
