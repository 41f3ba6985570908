// What a forger who knows the hash rule does after editing a transcript: recompute every hash from `from` on,
// so the chain holds again and only the signed heads and the bot re-run can catch the edit.
import { sealMessage, type ChannelMessage } from '../../servers/channels/transcript.ts';

/** Messages re-sealed from seq `from` on (messages numbered from 1, in order). */
export function reseal(messages: readonly ChannelMessage[], from: number): ChannelMessage[] {
  const out = messages.slice(0, from - 1);
  let prev = out.at(-1)?.hash ?? '0'.repeat(64);
  for (const m of messages.slice(from - 1)) {
    const sealed = sealMessage(m.channel_id, m.seq, prev, {
      ts: m.ts,
      from: m.from,
      kind: m.kind,
      body: m.body,
      ...(m.reply_to === undefined ? {} : { reply_to: m.reply_to }),
    });
    out.push(sealed);
    prev = sealed.hash;
  }
  return out;
}
