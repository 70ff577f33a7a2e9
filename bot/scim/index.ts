// SCIM 2.0 provisioning (issue 18), assembled for a bot runtime: the route under /scim/v2, or none when
// no token is configured (the path then answers 404 like any unknown path).
import { section, type Config } from '../config.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { BotServices } from '../runtime/services.ts';
import { RedisSecurityCounters } from '../store/ratelimit.ts';
import { ScimStore } from '../store/scim-store.ts';
import { ScimAudit } from './audit.ts';
import { ScimGroups } from './groups.ts';
import { scimRoute } from './router.ts';
import { ScimUsers } from './users.ts';

export async function scimRoutes(services: BotServices, config: Config, logger: Logger): Promise<Route[]> {
  const settings = config.scim;
  if (!settings) return [];
  const store = new ScimStore(services.conn);
  await store.ensureIndexes();
  const audit = new ScimAudit(services.recorder, services.clock);
  const common = { store, directory: services.directory, audit, clock: services.clock, settings };
  const users = new ScimUsers({ ...common, offboarding: services.offboarding, defaultLocale: config.defaultLocale });
  const groups = new ScimGroups({ ...common, offboarding: services.offboarding });
  const limiter = new RedisSecurityCounters(services.redis, section(config, 'redis').keyPrefix);
  return [scimRoute({ settings, users, groups, audit, limiter, clock: services.clock, logger: logger.child({ module: 'scim' }) })];
}
