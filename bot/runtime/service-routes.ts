// The HTTP routes every chat bot serves beside its platform's own callbacks, built once here so the Slack,
// Lark, WeCom and DingTalk runtimes mount the same ones (issue 17: no flow logic twice across adapters):
//  - /metrics;
//  - SCIM 2.0 provisioning under /scim/v2 (bot/scim), when CUSTOS_SCIM_TOKENS is set;
//  - the CRM sync's push and webhook routes (bot/sync/http-routes.ts), when CUSTOS_SYNC_SOURCES is set. A
//    deletion among them cancels the pending requests on the customer through the bot's approval service
//    (reason deletedAtSource), so every card copy says so in place; a bot without one only deletes.
import type { SyncConfig } from '../config-sync.ts';
import type { Config } from '../config.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { scimRoutes } from '../scim/index.ts';
import { syncHttpRoutes } from '../sync/http-routes.ts';
import type { BotServices } from './services.ts';

export interface ServiceRouteOptions {
  /** The CRM sync's settings as `custos start` parsed them (BotSettings.sync); absent, read from the environment. */
  sync: SyncConfig | undefined;
  /** The bot's approval service, when it has one: a deletion pushed to the bot cancels pending requests through it. */
  approvals: Pick<ApprovalService, 'cancelAllOn'> | undefined;
}

export async function serviceRoutes(services: BotServices, config: Config, logger: Logger, o: ServiceRouteOptions): Promise<Route[]> {
  const approvals = o.approvals;
  return [
    services.metrics.route,
    ...await scimRoutes(services, config, logger),
    ...await syncHttpRoutes(services, logger, o.sync, approvals && ((customerId) => approvals.cancelAllOn(customerId, 'deletedAtSource'))),
  ];
}
