// The web console at /console: mounts its pages on the proxy's Hono app (ProxyAppOptions.routes), behind one gate
// (security.ts: Host check, security headers, sessions, CSRF on every POST). Owns nothing the pages do not need;
// reads the fleet only through the seams in types.ts. close() stops its metrics sampler.
import type { Hono } from 'hono';
import { Hono as HonoApp } from 'hono';
import { mountActivityPage } from './activity-page.ts';
import { mountAgentsPage } from './agents-page.ts';
import { loadAssets, serveAsset } from './assets.ts';
import { createChannelsAccess } from './channels-access.ts';
import { mountChannelsPage } from './channels-page.ts';
import { mountConfigPage } from './config-page.ts';
import { mountFleetPage } from './fleet-page.ts';
import { createRateSampler } from './rates.ts';
import { checkCsrf, loadSession, securityHeaders, type ConsoleEnv } from './security.ts';
import { createSealedSessionStore, createSessionStore } from './sessions.ts';
import { mountSignIn } from './sign-in.ts';
import { mountToolsPage } from './tools-page.ts';
import type { ConsoleOptions } from './types.ts';

export interface MountedConsole {
  close(): void;
}

export function mountConsole(app: Hono, options: ConsoleOptions): MountedConsole {
  const assets = loadAssets();
  const clock = options.now === undefined ? {} : { now: options.now };
  const sessions =
    options.sessionKey === undefined
      ? createSessionStore(clock)
      : createSealedSessionStore({ key: options.sessionKey, ...clock });
  const sampler = createRateSampler({ registry: options.metrics.registry });
  const access = createChannelsAccess(options.gateway, () => options.config());
  const ui = new HonoApp<ConsoleEnv>();

  ui.use('/console', options.guard.host, securityHeaders);
  ui.use('/console/*', options.guard.host, securityHeaders);
  ui.get('/console/assets/:file', (c) => serveAsset(assets, c));
  ui.use('/console', loadSession(sessions));
  ui.use('/console/*', loadSession(sessions), checkCsrf);

  ui.get('/console', (c) => {
    const session = c.get('session');
    return c.redirect(
      session === undefined
        ? '/console/sign-in'
        : session.kind === 'operator'
          ? '/console/fleet'
          : '/console/channels',
      303,
    );
  });
  mountSignIn(ui, options, sessions);
  mountFleetPage(ui, options.fleet);
  mountAgentsPage(ui, options);
  mountConfigPage(ui, options);
  mountActivityPage(ui, options.activity, sampler);
  mountToolsPage(ui, options.pins);
  mountChannelsPage(ui, options, access);
  ui.notFound((c) => c.json({ error: 'not_found' }, 404));

  app.route('/', ui);
  return { close: () => sampler.close() };
}
