// The Node flags the `mcpcp` CLI runs with, so the proxy it hosts in-process gets them. They must be on
// Node's command line (V8 sizes its heap when the process starts; `v8.setFlagsFromString` afterwards does
// not change the limits, measured; only --semi-space-growth-factor=1 takes effect then, and it freezes the
// young generation at 1 MB), so they are written where the CLI is started: the #! line of
// launcher/bin/mcpcp.js and package.json's scripts, which a unit test compares with this list. bench/proxy.ts
// starts its proxy process with the same list.
//
// --max-semi-space-size=8: V8 grows the young generation while a burst of sessions is opened and does not
// give it back when they go idle (Node 24, x64: two 16 MB semi-spaces at the proxy's start, two 64 MB ones
// after 1,000 sessions). Capped at 8 MB each, bench/proxy.ts measured 141-153 MB RSS with 1,000 idle
// 2025-era sessions instead of 178-186 MB (warm compile cache both), for ~20 scavenges per 1,000 calls
// under c=32 load; V8's own sizing gave 2-25 (it shrinks the young generation at times), each 3-7 ms of
// pause on the shared 2-core machine, so up to ~0.1 ms per call, within that machine's run-to-run noise.
// 4 MB: 136-143 MB for ~35 scavenges per 1,000 calls; 1 MB: ~135 MB for ~130 and 0.3-1 ms of GC per call;
// 16 MB: 159-160 MB.
//
// --no-concurrent-recompilation: TurboFan then optimises hot functions on the main thread instead of on its
// background threads. Those threads allocate their compile zones with malloc, in arenas of their own that
// glibc keeps once the burst of compiling is over: with 1,000 idle sessions bench/proxy.ts measured ~24 MB of
// anonymous memory outside V8's heap that way, 146-158 MB RSS in all, and 133.2-133.5 MB with the flag (warm
// compile cache both, 9 runs). Limiting the threads (--concurrent-turbofan-max-threads=1) did not help
// (146-157 MB). The compile work is the same, so CPU per call under load did not move beyond the run-to-run
// noise; what moves is that a function's optimisation briefly holds the event loop while the process warms
// up, and on the 2-core machines MCPCP targets the background threads compete for the same cores anyway.
export const nodeFlags: readonly string[] = ['--max-semi-space-size=8', '--no-concurrent-recompilation'];
