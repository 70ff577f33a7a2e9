// Builds the security services of the Slack bot (rate limit + detectors around lookups, alert cards,
// offboarding) from configuration: thresholds from the policy's `settings.security`, counters in
// Redis, grants and pending requests revoked through their stores.
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { OffboardingService } from '../core/offboarding.ts';
import type { Clock, EmployeeDirectory } from '../core/ports.ts';
import { SecurityService, type AccessRevoker } from '../core/security/guard.ts';
import { DEFAULT_SECURITY_SETTINGS } from '../core/security/settings.ts';
import type { Logger } from '../logger.ts';
import { storeAccessRevoker } from '../store/access-revoker.ts';
import { RedisSecurityCounters } from '../store/ratelimit.ts';
import { loadPolicy } from '../../policies/index.ts';
import { withinWorkingHours } from '../../policies/engine/hours.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import type { SlackFeature } from './app.ts';
import { registerSlackSecurityHandlers, SlackSecurityAlerts } from './security-handlers.ts';

export interface SecurityRuntimeDeps {
  conn: Connection;
  redis: Redis;
  config: Config;
  engine: PolicyEngine;
  directory: EmployeeDirectory;
  recorder: AuditRecorder;
  clock: Clock;
  logger: Logger;
}

export interface SecurityRuntime { security: SecurityService; offboarding: OffboardingService; feature: SlackFeature }

export function securityRuntime(deps: SecurityRuntimeDeps): SecurityRuntime {
  const policy = loadPolicy(deps.config.policyDir);
  const settings = policy.settings.security ?? DEFAULT_SECURITY_SETTINGS;
  const revoker: AccessRevoker = storeAccessRevoker(deps.conn);
  const alerts = new SlackSecurityAlerts({ channel: deps.config.securityChannel, directory: deps.directory, locale: deps.config.defaultLocale, logger: deps.logger });
  const log = deps.logger.child({ component: 'security' });
  const security = new SecurityService({
    settings, alerts, revoker, directory: deps.directory, recorder: deps.recorder, engine: deps.engine, clock: deps.clock,
    counters: new RedisSecurityCounters(deps.redis, deps.config.redis!.queuePrefix),
    workingHours: (e, at) => withinWorkingHours(policy.settings, e.timezone, at),
    onError: (err, what) => log.warn({ err: { name: (err as Error)?.name } }, `security: ${what}`),
  });
  const offboarding = new OffboardingService({ directory: deps.directory, revoker, recorder: deps.recorder, clock: deps.clock });
  return {
    security, offboarding,
    feature: (app) => registerSlackSecurityHandlers(app, { security, offboarding, alerts, directory: deps.directory, defaultLocale: deps.config.defaultLocale, logger: deps.logger }),
  };
}
