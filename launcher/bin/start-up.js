// The first module of every MCPCP process that runs the proxy from TypeScript sources (the `mcpcp` CLI, and
// bench/proxy.ts's proxy process through `--import`): it turns on Node's module compile cache before any .ts
// file is loaded. It is plain JavaScript because loading it must not need type stripping; it must not import
// anything of ours.
//
// Why: Node strips types with amaro, a WebAssembly build of swc that it loads at the first .ts file it sees
// and then keeps for the life of the process: ~17 MB of RSS (measured: 42 MB for an empty .ts file that hits
// the cache, 59 MB without the cache). With the cache on, a .ts file unchanged since an earlier run comes back
// already stripped, with V8's code cache, and amaro is never loaded; an edited file is a miss, stripped as
// usual, and cached for the next run. Entries are keyed by Node version, path and content, so a stale entry
// is never used. NODE_COMPILE_CACHE=DIR overrides the folder and NODE_DISABLE_COMPILE_CACHE=1 turns it off;
// a folder that cannot be written (a read-only install) leaves Node running without the cache.
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';

// In the repository's own (git-ignored) .cache folder rather than Node's default under the shared tmpdir,
// where another local user could plant entries.
enableCompileCache(join(import.meta.dirname, '../../.cache/node-compile-cache'));
