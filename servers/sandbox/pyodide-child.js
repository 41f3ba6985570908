// One Pyodide interpreter in its own Node process, for ONE run: the process the code runner's pool starts under
// Node's permission model (pyodide-process.ts builds its flags). It loads Pyodide (from the pool's memory snapshot
// when it has one), locks itself down, says it is ready, reads one run request from fd 0, runs it, reports on fd 1,
// and exits. It must never run a second program, import anything of ours, or touch process.stdin/stdout/stderr.
//
// It is plain JavaScript so that starting it never loads Node's type stripper (~17 MB per interpreter, and the
// permission model would have to let it read our sources).
//
// Lock-down, in order (what each step closes is in servers/code-runner/README.md):
//   1. a module gate (module.registerHooks): while loading, only the builtins Pyodide needs and files inside the
//      pyodide package resolve; after loading, nothing resolves (import(), require() and createRequire alike);
//   2. process.binding answers only 'constants' (Emscripten's NODEFS reads the fs flags through it; Node's
//      permission model refuses process.binding outright) until loading is done, then refuses again;
//   3. WebAssembly.Memory.prototype.grow refuses to grow past the memory cap, so Python gets MemoryError;
//   4. after loading: fetch and the other network globals, process.getBuiltinModule, process.kill and the
//      handle lists are removed, stdio getters answer with inert objects, sockets cannot be created in Python
//      (SOCKFS refuses with EACCES), and `js` / `pyodide_js` leave sys.modules and the import system.
// The permission model (no writes, no child processes, no workers, no addons, no inspector) and the parent's
// wall-clock kill and RSS watch stand behind all of this: a program that escapes Python into JavaScript is still
// inside them.
//
// Wire format. fd 1 carries JSON lines: {"t":"ready"}, {"t":"out","s":"stdout"|"stderr","d":TEXT},
// {"t":"done",...result}; in snapshot mode {"t":"snapshot","bytes":N,"info":{…}} then N raw bytes.
// fd 0 carries one JSON line: {"code","stdin","files"}.
/* global process, Buffer, WebAssembly, URL, TextDecoder, performance */
import { closeSync, constants as fsConstants, readFileSync, readSync, writeSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2] ?? '{}');
const pyodideDir = String(config.pyodideDir);
const pyodideUrl = pathToFileURL(pyodideDir.endsWith('/') ? pyodideDir : `${pyodideDir}/`).href;
const wasmMaxBytes = Number(config.wasmMaxBytes);
const outputMaxBytes = Number(config.outputMaxBytes);
// Tests only (the parent's command line sets it, never a program): a module loaded before the lock-down whose
// default export runs where a program would, after it, and reports what it could reach.
const probeUrl = config.probeModule ? pathToFileURL(String(config.probeModule)).href : undefined;

// --- 1. module gate --------------------------------------------------------------------------------------------
const loadBuiltins = new Set([
  'node:fs',
  'node:fs/promises',
  'node:url',
  'node:path',
  'node:vm',
  'node:crypto',
  'node:module',
  'node:tty',
]);
let locked = false;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (locked) throw new Error(`module loading is disabled in the code runner (${specifier})`);
    const resolved = nextResolve(specifier, context);
    const allowed = resolved.url.startsWith('node:')
      ? loadBuiltins.has(resolved.url)
      : resolved.url.startsWith(pyodideUrl) || resolved.url === probeUrl;
    if (!allowed) throw new Error(`module not available in the code runner (${specifier})`);
    return resolved;
  },
});

// --- 2. process.binding: constants only, while loading ----------------------------------------------------------
const refuseBinding = process.binding;
process.binding = function binding(name) {
  if (!locked && name === 'constants') return { fs: { ...fsConstants } };
  return refuseBinding.call(process, name);
};

// --- 3. WebAssembly memory cap ------------------------------------------------------------------------------------
const wasmGrow = WebAssembly.Memory.prototype.grow;
Object.defineProperty(WebAssembly.Memory.prototype, 'grow', {
  value: function grow(pages) {
    if (this.buffer.byteLength + Number(pages) * 65_536 > wasmMaxBytes) {
      throw new RangeError('WebAssembly memory cap reached');
    }
    return wasmGrow.call(this, pages);
  },
  writable: false,
  configurable: false,
});

// --- wire -----------------------------------------------------------------------------------------------------------
function send(message) {
  writeAll(Buffer.from(`${JSON.stringify(message)}\n`));
}
function writeAll(bytes) {
  for (let offset = 0; offset < bytes.length;) {
    try {
      offset += writeSync(1, bytes, offset, bytes.length - offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}
function readRequestLine() {
  const chunks = [];
  const buffer = Buffer.alloc(65_536);
  for (;;) {
    let n;
    try {
      n = readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      if (error.code === 'EAGAIN') continue;
      throw error;
    }
    if (n === 0) return undefined; // the pool closed our stdin: nothing to run
    const newline = buffer.subarray(0, n).indexOf(10);
    if (newline >= 0) {
      chunks.push(Buffer.from(buffer.subarray(0, newline)));
      return Buffer.concat(chunks).toString('utf8');
    }
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
}

// --- load ---------------------------------------------------------------------------------------------------------
// Pyodide's Node bootstrap imports ws and child_process into a global `require` unless one exists: give it one that
// hands out only what it needs for loading local files.
const nodeFs = await import('node:fs');
const nodeCrypto = await import('node:crypto');
globalThis.require = (name) => {
  if (name === 'fs' || name === 'node:fs') return nodeFs;
  if (name === 'crypto' || name === 'node:crypto') return nodeCrypto;
  throw new Error(`module not available in the code runner (${name})`);
};
const { loadPyodide } = await import(new URL('pyodide.mjs', pyodideUrl).href);
const probe = probeUrl ? await import(probeUrl) : undefined;
const makeSnapshot = config.mode === 'snapshot';
let snapshot = !makeSnapshot && config.snapshotFile ? readFileSync(config.snapshotFile) : undefined;
const pyodide = await loadPyodide({
  indexURL: pyodideDir.endsWith('/') ? pyodideDir : `${pyodideDir}/`,
  env: { HOME: '/home/pyodide' },
  stdout: () => undefined,
  stderr: () => undefined,
  ...(makeSnapshot ? { _makeSnapshot: true } : {}),
  ...(snapshot ? { _loadSnapshot: snapshot } : {}),
});
// eslint-disable-next-line no-useless-assignment -- a module-scope binding would keep its 30 MB alive for the run
snapshot = undefined;
const warmImports =
  'import ast, base64, collections, dataclasses, datetime, decimal, fractions, functools, hashlib, io, itertools, ' +
  'json, math, random, re, statistics, string, textwrap, traceback, typing';
if (makeSnapshot) {
  pyodide.runPython(warmImports);
  const info = pyodide.runPython(
    'import json, sys, importlib.util\n' +
      'json.dumps({"python": sys.version.split()[0], "stdlib": sorted(m for m in sys.stdlib_module_names ' +
      'if not m.startswith("_") and importlib.util.find_spec(m) is not None)})',
  );
  const bytes = pyodide.makeMemorySnapshot();
  send({ t: 'snapshot', bytes: bytes.length, info: JSON.parse(info) });
  writeAll(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  process.exit(0);
}

// --- 4. lock down -------------------------------------------------------------------------------------------------
const module = pyodide._module;
const FS = pyodide.FS;
module.SOCKFS.createSocket = () => {
  throw new FS.ErrnoError(2); // EACCES in Emscripten's numbering: Python raises PermissionError
};
pyodide.unregisterJsModule('js');
pyodide.unregisterJsModule('pyodide_js');
const runner = pyodide.runPython(readFileSync(new URL('pyodide-run.py', import.meta.url), 'utf8'));
for (const name of [
  'fetch',
  'WebSocket',
  'EventSource',
  'Request',
  'Response',
  'Headers',
  'FormData',
  'navigator',
]) {
  delete globalThis[name];
}
delete globalThis.require;
for (const name of [
  'getBuiltinModule',
  '_getActiveHandles',
  '_getActiveRequests',
  '_kill',
  'dlopen',
  'openStdin',
]) {
  delete process[name];
}
process.kill = () => {
  throw new Error('process.kill is disabled in the code runner');
};
// No net.Socket for fd 0/1/2 may ever exist in this process (its class could open connections): the stdio getters
// answer with inert objects, and console (which Pyodide uses for fatal-error reports) writes to the run's stderr.
const inert = Object.freeze({
  write: () => true,
  on: () => inert,
  once: () => inert,
  removeListener: () => inert,
});
for (const name of ['stdin', 'stdout', 'stderr']) {
  Object.defineProperty(process, name, { value: inert, configurable: false, writable: false });
}
const toStderr = (...values) => send({ t: 'out', s: 'stderr', d: `${values.map(String).join(' ')}\n` });
globalThis.console = Object.freeze({
  log: toStderr,
  info: toStderr,
  warn: toStderr,
  error: toStderr,
  debug: toStderr,
  trace: toStderr,
});
locked = true;

// --- run ----------------------------------------------------------------------------------------------------------
let outputBytes = 0;
function streamTo(stream) {
  const decoder = new TextDecoder('utf-8');
  return {
    write(bytes) {
      if (outputBytes <= outputMaxBytes) {
        outputBytes += bytes.length;
        const text = decoder.decode(bytes, { stream: true });
        if (text) send({ t: 'out', s: stream, d: text });
      }
      return bytes.length;
    },
  };
}
pyodide.setStdout(streamTo('stdout'));
pyodide.setStderr(streamTo('stderr'));
if (probe) {
  send({ t: 'probe', report: await probe.default() });
  process.exit(0);
}
send({ t: 'ready' });

const line = readRequestLine();
if (line === undefined) process.exit(0);
closeSync(0);
const request = JSON.parse(line);
const started = performance.now();
let outcome;
try {
  outcome = JSON.parse(runner(request.code, request.stdin ?? '', JSON.stringify(request.files ?? {})));
} catch (error) {
  // Pyodide's own fatal errors (a JavaScript exception through the interpreter, a wasm stack overflow)
  const name = error instanceof Error ? error.name : 'Error';
  const memory = error instanceof RangeError && /memory|allocation/i.test(error.message);
  outcome = {
    exit_reason: memory ? 'memory' : 'error',
    result: null,
    error: {
      type: `interpreter ${name}`,
      message: String(error?.message ?? error).slice(0, 4096),
      traceback: '',
    },
  };
}
send({ t: 'done', ...outcome, duration_ms: Math.round(performance.now() - started) });
process.exit(0);
