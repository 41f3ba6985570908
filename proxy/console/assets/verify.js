// The browser's transcript verifier ("verify in the browser"): the hash chain, the signed heads (RS256 JWS checked
// with WebCrypto against the fleet's JWKS, which the page fetches itself from /.well-known/jwks.json) and every
// fairness commitment against its reveal, naming the first bad message. The same rules as client/verify (chain.ts,
// heads.ts, the fairness part of replay.ts), without the bot re-run (that needs the sandbox: `mcpcp verify`).
// Plain JavaScript with its dependencies passed in (RFC 8785 `canonicalize`, a WebCrypto `subtle`), so the page and
// a Node unit test (tests/unit/console/browser-verify.test.ts) run the very same file. It must not touch the DOM.

const format = 'mcpcp-transcript/1';
const genesis = '0'.repeat(64);
const headType = 'mcpcp-head+jws';

/**
 * @param {unknown} transcript an mcpcp-transcript/1 export
 * @param {{keys: object[]}} jwks the fleet's public keys (never the transcript's own copy)
 * @param {{canonicalize: (v: unknown) => string | undefined, subtle: SubtleCrypto}} deps
 */
export async function verifyInBrowser(transcript, jwks, deps) {
  const { canonicalize, subtle } = deps;
  const problems = [];
  const t = /** @type {any} */ (transcript);
  const messages = Array.isArray(t?.messages) ? t.messages : [];
  const report = {
    ok: false,
    channel_id: String(t?.channel_id),
    messages: messages.length,
    checked: { chain: false, heads: 0, commitments: 0, reveals: 0, sources: 0 },
    /** seq → what the message is, for marking: 'commitment' | 'reveal'. */
    marks: /** @type {Record<number, string>} */ ({}),
    first_bad: null,
    problems,
  };
  const finish = () => {
    problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    report.first_bad = problems[0] ?? null;
    report.ok = problems.length === 0;
    return report;
  };
  const hex = async (data) => {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  };
  if (t?.format !== format || typeof t.channel_id !== 'string') {
    problems.push({ seq: null, check: 'format', reason: `not a ${format} file` });
    return finish();
  }

  // 1. The chain: numbering, channel, links, hashes (hash = sha256(prev_hash ‖ RFC 8785 JSON of the content)).
  let prev = genesis;
  for (const [index, m] of messages.entries()) {
    const expected = index + 1;
    const seq = typeof m?.seq === 'number' ? m.seq : expected;
    let reason;
    if (m?.channel_id !== t.channel_id) reason = 'message belongs to another channel';
    else if (m.seq !== expected) reason = `expected seq ${expected}, found ${String(m.seq)}`;
    else if (m.prev_hash !== prev) reason = 'prev_hash does not match the previous message';
    else {
      let text;
      try {
        text = canonicalize(contentOf(m));
      } catch {
        text = undefined;
      }
      if (text === undefined) reason = 'content is not canonicalizable JSON';
      else if ((await hex(prev + text)) !== m.hash)
        reason = 'hash does not match the content (altered message)';
    }
    if (reason !== undefined) {
      problems.push({ seq, check: 'chain', reason });
      return finish();
    }
    prev = m.hash;
  }
  report.checked.chain = true;

  // 2. Signed heads: each must verify and match its message; one must cover the last message.
  const lastSeq = messages.at(-1)?.seq ?? 0;
  let covered = 0;
  let coversLast = false;
  let claimed = false;
  const heads = (Array.isArray(t.heads) ? t.heads : []).filter((h) => typeof h?.jws === 'string');
  for (const head of heads) {
    const claims = await verifyHead(head.jws, jwks, subtle);
    if (claims === undefined) {
      problems.push({
        seq: typeof head.seq === 'number' ? Math.min(head.seq, lastSeq + 1) : null,
        check: 'heads',
        reason: 'signed head does not verify against the JWKS',
      });
      continue;
    }
    if (claims.channel_id !== t.channel_id) {
      problems.push({
        seq: Math.min(claims.seq, lastSeq + 1),
        check: 'heads',
        reason: 'signed head is for another channel',
      });
      continue;
    }
    if (claims.seq >= lastSeq) claimed = true;
    if (claims.seq > lastSeq) {
      problems.push({
        seq: lastSeq + 1,
        check: 'heads',
        reason: `a signed head covers message ${claims.seq} but the transcript ends at ${lastSeq} (truncated)`,
      });
    } else if ((claims.seq === 0 ? genesis : messages[claims.seq - 1]?.hash) !== claims.hash) {
      problems.push({
        seq: claims.seq,
        check: 'heads',
        reason: `signed head does not match message ${claims.seq}`,
      });
    } else {
      report.checked.heads += 1;
      covered = Math.max(covered, claims.seq);
      if (claims.seq === lastSeq) coversLast = true;
    }
  }
  if (!coversLast && !claimed) {
    const why =
      heads.length === 0
        ? 'the transcript carries no signed head'
        : `the last verified signed head is at ${covered}`;
    problems.push({
      seq: lastSeq === 0 ? null : covered + 1,
      check: 'heads',
      reason: `no signed head covers message ${covered + 1}${lastSeq > covered + 1 ? `–${lastSeq}` : ''} (${why})`,
    });
  }

  // 3. Fairness: the commitment in force (bot:attach, then each fairness:commit) against every reveal; and each
  // announced bot source against its code hash.
  let commitment;
  let epoch;
  for (const m of messages) {
    if (m.from?.type !== 'system') continue;
    const body = m.body ?? {};
    if (m.kind === 'bot:attach') {
      commitment = body.fairness?.commitment;
      epoch = body.fairness?.epoch ?? 1;
      if (typeof commitment === 'string') {
        report.marks[m.seq] = 'commitment';
        report.checked.commitments += 1;
      }
      const source = t.sources?.[String(body.code_hash)];
      if (typeof source === 'string') {
        if ((await hex(source)) !== body.code_hash)
          problems.push({
            seq: m.seq,
            check: 'bot',
            reason: 'bot source does not hash to the announced code_hash',
          });
        else report.checked.sources += 1;
      }
    } else if (m.kind === 'fairness:commit') {
      commitment = body.commitment;
      epoch = body.epoch;
      report.marks[m.seq] = 'commitment';
      report.checked.commitments += 1;
    } else if (m.kind === 'fairness:reveal') {
      report.marks[m.seq] = 'reveal';
      const seed = String(body.seed);
      const matches =
        commitment !== undefined &&
        body.epoch === epoch &&
        /^[0-9a-f]{64}$/.test(seed) &&
        (await hex(hexBytes(seed))) === commitment &&
        body.valid === true;
      if (!matches) {
        problems.push({
          seq: m.seq,
          check: 'fairness',
          reason:
            commitment === undefined
              ? 'reveal without an attached bot'
              : `revealed seed does not match the commitment of epoch ${String(epoch)}`,
        });
      } else report.checked.reveals += 1;
    }
  }
  return finish();
}

/** The part of a message the chain covers (everything but prev_hash and hash). */
function contentOf(m) {
  const content = {
    v: 1,
    channel_id: m.channel_id,
    seq: m.seq,
    ts: m.ts,
    from: m.from,
    kind: m.kind,
    body: m.body,
  };
  if (m.reply_to !== undefined) content.reply_to = m.reply_to;
  return content;
}

function hexBytes(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function base64urlBytes(text) {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Verifies a compact RS256 JWS head against the JWKS; its claims, or undefined when it does not verify. */
async function verifyHead(jws, jwks, subtle) {
  try {
    const [header64, payload64, signature64, extra] = jws.split('.');
    if (extra !== undefined || !header64 || !payload64 || !signature64) return undefined;
    const decode = (part) => JSON.parse(new TextDecoder().decode(base64urlBytes(part)));
    const header = decode(header64);
    if (header.alg !== 'RS256' || header.typ !== headType) return undefined;
    const jwk = (jwks?.keys ?? []).find((k) => k.kid === header.kid && k.kty === 'RSA');
    if (jwk === undefined) return undefined;
    const key = await subtle.importKey(
      'jwk',
      { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RS256', ext: true },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    const signed = new TextEncoder().encode(`${header64}.${payload64}`);
    const ok = await subtle.verify('RSASSA-PKCS1-v1_5', key, base64urlBytes(signature64), signed);
    if (!ok) return undefined;
    const claims = decode(payload64);
    if (
      claims?.typ !== 'mcpcp-channel-head' ||
      typeof claims.seq !== 'number' ||
      typeof claims.hash !== 'string'
    )
      return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
