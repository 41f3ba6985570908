// The console's static files: its stylesheet and scripts from proxy/console/assets/, and the `canonicalize` package's
// own ESM file (RFC 8785, the same code the channels server hashes with) for the browser verifier. Read once at
// start; served with a content hash ETag. No CDN, no build step. It must not serve anything else.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';

interface Asset {
  body: string;
  type: string;
  etag: string;
}

function load(path: string, type: string): Asset {
  const body = readFileSync(path, 'utf8');
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

export function loadAssets(): ReadonlyMap<string, Asset> {
  const own = (name: string) => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));
  const js = 'text/javascript; charset=utf-8';
  return new Map([
    ['console.css', load(own('console.css'), 'text/css; charset=utf-8')],
    ['console.js', load(own('console.js'), js)],
    ['verify.js', load(own('verify.js'), js)],
    ['canonicalize.js', load(fileURLToPath(import.meta.resolve('canonicalize')), js)],
  ]);
}

export function serveAsset(assets: ReadonlyMap<string, Asset>, c: Context): Response {
  const asset = assets.get(c.req.param('file') ?? '');
  if (asset === undefined) return c.json({ error: 'not_found' }, 404);
  const headers = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache' };
  if (c.req.header('if-none-match') === asset.etag) return new Response(null, { status: 304, headers });
  return new Response(asset.body, { headers });
}
