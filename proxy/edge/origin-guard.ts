// DNS-rebinding protection for the front door: which Host and Origin values the proxy answers.
// Builds allow-lists from the config and wraps the MCP SDK's Hono middlewares; it must not do auth.
import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/hono';
import type { MiddlewareHandler } from 'hono';

const loopbackHostnames = ['localhost', '127.0.0.1', '[::1]'];

/** Hostname of a URL-ish allow-list entry: `https://claude.ai` → `claude.ai`; a bare hostname stays. */
function hostnameOf(entry: string): string {
  if (entry.includes('://')) {
    try {
      const url = new URL(entry);
      return url.hostname === '' ? entry : url.hostname;
    } catch {
      return entry;
    }
  }
  return entry.replace(/:\d+$/, '');
}

export interface OriginGuardOptions {
  /** The proxy's public base URL; its host is always allowed. */
  publicUrl: string;
  /** Extra browser origins (config `proxy.allowedOrigins`), as origins or bare hostnames. */
  allowedOrigins?: readonly string[] | undefined;
  /** Extra Host names the proxy answers to (e.g. behind a reverse proxy). */
  allowedHosts?: readonly string[] | undefined;
}

export interface OriginGuard {
  hosts: string[];
  origins: string[];
  /** 403 unless the Host header names this proxy. */
  host: MiddlewareHandler;
  /** 403 when a browser Origin is present and not allowed (non-browser clients send none). */
  origin: MiddlewareHandler;
}

export function createOriginGuard(options: OriginGuardOptions): OriginGuard {
  const own = new URL(options.publicUrl).hostname;
  const hosts = [...new Set([own, ...loopbackHostnames, ...(options.allowedHosts ?? []).map(hostnameOf)])];
  const origins = [
    ...new Set([own, ...loopbackHostnames, ...(options.allowedOrigins ?? []).map(hostnameOf)]),
  ];
  return { hosts, origins, host: hostHeaderValidation(hosts), origin: originValidation(origins) };
}
