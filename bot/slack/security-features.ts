// The admin features of the Slack bot, built in one place so runtime.ts needs one call: `/audit` (audit
// queries over the stored chain, the service shared with Lark in bot/runtime/audit-query.ts).
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { auditQueryService } from '../runtime/audit-query.ts';
import type { BotServices } from '../runtime/services.ts';
import type { SlackFeature } from './app.ts';
import { registerSlackAuditHandlers } from './audit-handlers.ts';

export async function adminFeatures(services: BotServices, config: Config, logger: Logger): Promise<SlackFeature[]> {
  const audit = await auditQueryService(services, config);
  return [(app) => registerSlackAuditHandlers(app, {
    audit, identity: services.identity, clock: services.clock, metrics: services.metrics,
    defaultLocale: config.defaultLocale, securityContact: config.securityContact, logger,
  })];
}
