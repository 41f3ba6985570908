// The first thing the `mcpcp` CLI does: check that this Node can run MCPCP, and if not, say what to install and
// exit 1, before any module that needs a newer Node is loaded (on Node 20, loading ./start-up.js alone fails
// with "does not provide an export named 'enableCompileCache'"). Plain JavaScript importing only node:process, so
// any Node that runs ES modules can load it; it must stay that way. Its types: node-version.d.ts.
//
// Why 22.18: MCPCP runs its TypeScript sources with Node's built-in type stripping, on by default since 22.18.0
// (and 23.6.0); an older 22.x would stop at the first .ts file.

import process from 'node:process';

/** The oldest Node of each line that runs MCPCP; lines after the last one listed are all fine. */
const oldestSupported = [
  [22, 18, 0],
  [23, 6, 0],
];
export const minimumNode = '22.18.0';

/** Why `version` cannot run MCPCP, or undefined when it can. Pure. */
export function nodeVersionProblem(version, execPath) {
  const parts = String(version).replace(/^v/, '').split('.').map(Number);
  const [major = 0, minor = 0, patch = 0] = parts.map((n) => (Number.isFinite(n) ? n : 0));
  const line = oldestSupported.find(([m]) => m === major);
  const newest = oldestSupported[oldestSupported.length - 1][0];
  const ok =
    major > newest || (line !== undefined && (minor > line[1] || (minor === line[1] && patch >= line[2])));
  if (ok) return undefined;
  return (
    `MCPCP needs Node.js ${minimumNode} or newer (it runs its TypeScript sources with Node's built-in type ` +
    `stripping); this is Node ${version}${execPath ? ` (${execPath})` : ''}. Install Node 24 LTS ` +
    '(https://nodejs.org/en/download, or a version manager: `nvm install 24`), or, without a system install, ' +
    '`npm install --prefix .cache/node24 node@24` and put .cache/node24/node_modules/node/bin first on PATH.'
  );
}

/** Exits the process with code 1 and the reason on stderr when this Node cannot run MCPCP. */
export function exitUnlessSupportedNode() {
  const problem = nodeVersionProblem(process.versions.node, process.execPath);
  if (problem === undefined) return;
  process.stderr.write(`mcpcp: ${problem}\n`);
  process.exit(1);
}
