#!/usr/bin/env -S node --max-semi-space-size=8 --no-concurrent-recompilation
// Entry point of the `mcpcp` CLI (the package's bin and `npm run mcpcp`). Plain JavaScript on purpose: it
// turns on the compile cache (./start-up.js) before the first TypeScript module loads, so a warm start never
// loads Node's type stripper. The Node flags on the #! line and in package.json's scripts are
// launcher/node-flags.ts's, checked by tests/unit/launcher/node-flags.test.ts.
// The version check comes first and the rest is imported dynamically: a static import would be linked (and, on an
// old Node, fail with a SyntaxError) before any line of this file runs.
import { exitUnlessSupportedNode } from './node-version.js';

exitUnlessSupportedNode();
await import('./start-up.js');
await import('./mcpcp.ts');
