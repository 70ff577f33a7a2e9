// The sync routes a bot runtime mounts on its HTTP server: one push route per source with a push secret,
// one webhook route per source whose connector verifies webhooks (bot/sync/webhook-route.ts).
// No CUSTOS_SYNC_SOURCES, no routes (sync is off). A deletion arriving here (a push line, a 简道云
// data_remove) cancels the pending requests on the customer through the bot's own approval service when
// the runtime passes `cancelPending`, so every card copy says so in place, as the sync worker and
// `custos sync run` do (workers/sync/start.ts chatCanceller).
import { loadSyncConfig, type SyncConfig } from '../config-sync.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { BotServices } from '../runtime/services.ts';
import type { PendingOnCustomerCanceller } from './customer-revoker.ts';
import { buildSync } from './setup.ts';

/**
 * `sync`: the CRM sync's settings as `custos start` parsed them with everything else before any part
 * started (ServiceOverrides.sync); absent (tests, `custos demo`), parsed from this process's environment
 * here, at the bot's start. Each connector reads its own settings when buildSync makes it, as the sync
 * worker's do.
 */
export async function syncHttpRoutes(
  services: Pick<BotServices, 'conn' | 'cipher' | 'recorder' | 'clock'>, logger: Logger, sync: SyncConfig | undefined, cancelPending?: PendingOnCustomerCanceller,
): Promise<Route[]> {
  const config = sync ?? loadSyncConfig(process.env);
  if (config.sources.length === 0) return [];
  const { routes } = await buildSync(config, { ...services, logger, ...(cancelPending ? { cancelPending } : {}) });
  logger.info({ sources: config.sources, routes: routes.length }, 'sync: push and webhook routes mounted');
  return routes;
}
