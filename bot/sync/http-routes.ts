// The sync routes a bot runtime mounts on its HTTP server: one push route per source with a push secret,
// one webhook route per source whose connector verifies webhooks (bot/sync/webhook-route.ts).
// No CUSTOS_SYNC_SOURCES, no routes (sync is off).
import { loadSyncConfig } from '../config-sync.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { BotServices } from '../runtime/services.ts';
import { buildSync } from './setup.ts';

export async function syncHttpRoutes(services: Pick<BotServices, 'conn' | 'cipher' | 'recorder' | 'clock'>, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Route[]> {
  const config = loadSyncConfig(env);
  if (config.sources.length === 0) return [];
  const { routes } = await buildSync(config, { ...services, logger });
  logger.info({ sources: config.sources, routes: routes.length }, 'sync: push and webhook routes mounted');
  return routes;
}
