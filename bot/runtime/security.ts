// The platform-neutral security services of a chat bot (issue 8): rate limit and anomaly detectors
// around every lookup (thresholds from the policy's `settings.security`, counters in Redis, so Slack
// and Lark replicas share one budget per user) and offboarding. Alerts go wherever the adapter says.
import type { RedisClient } from '../store/redis-client.ts';
import type { Connection } from 'mongoose';
import type { Config } from '../config.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { OffboardingService } from '../core/offboarding.ts';
import type { Clock, EmployeeDirectory } from '../core/ports.ts';
import { SecurityService, type AnomalyAlert, type SecurityAlerts } from '../core/security/guard.ts';
import { GrantAndRequestRevoker, storeCanceller } from '../core/security/revoker.ts';
import { DEFAULT_SECURITY_SETTINGS } from '../core/security/settings.ts';
import type { Logger } from '../logger.ts';
import type { MongoGrantStore } from '../store/grant-store.ts';
import { RedisSecurityCounters } from '../store/ratelimit.ts';
import { MongoRequestStore } from '../store/request-store.ts';
import { withinWorkingHours } from '../../policies/engine/hours.ts';
import type { Policy } from '../../policies/load.ts';
import type { PolicyEngine } from '../../policies/types.ts';

export interface SecurityServicesDeps {
  conn: Connection;
  redis: RedisClient;
  config: Config;
  engine: PolicyEngine;
  /** The loaded policy (the engine's, unless a test overrides the engine): thresholds and working hours. */
  policy: Policy;
  directory: EmployeeDirectory;
  grants: MongoGrantStore;
  recorder: AuditRecorder;
  alerts: SecurityAlerts;
  clock: Clock;
  logger: Logger;
}

export interface SecurityServices {
  security: SecurityService;
  offboarding: OffboardingService;
  /** Cancels through the request store until an adapter's approval service takes over (`useCanceller`). */
  revoker: GrantAndRequestRevoker;
}

export function securityServices(deps: SecurityServicesDeps): SecurityServices {
  const { policy } = deps;
  const settings = policy.settings.security ?? DEFAULT_SECURITY_SETTINGS;
  // An adapter switches this to its approval service once its app exists, so cancelled requests'
  // cards are updated in place.
  const revoker = new GrantAndRequestRevoker(deps.grants, storeCanceller(new MongoRequestStore(deps.conn), deps.clock));
  const log = deps.logger.child({ module: 'security' });
  const security = new SecurityService({
    settings, alerts: loggedFirst(deps.alerts, deps.logger), revoker, directory: deps.directory, recorder: deps.recorder, engine: deps.engine, clock: deps.clock,
    counters: new RedisSecurityCounters(deps.redis, deps.config.redis!.keyPrefix),
    workingHours: (e, at) => withinWorkingHours(policy.settings, e.timezone, at),
    onError: (err, what) => log.warn({ err: { type: (err as Error)?.name } }, `security: ${what}`),
  });
  const offboarding = new OffboardingService({ directory: deps.directory, revoker, recorder: deps.recorder, clock: deps.clock });
  return { security, offboarding, revoker };
}

/**
 * Every alert is logged (ids and counts) before the adapter delivers it, so one without a security
 * channel, or one whose delivery fails, is not lost. The freeze itself does not depend on delivery.
 */
function loggedFirst(alerts: SecurityAlerts, logger: Logger): SecurityAlerts {
  return {
    async alert(alert: AnomalyAlert) {
      logger.warn({ employeeId: alert.employeeId, detector: alert.detector, count: alert.count, frozen: alert.frozen }, 'security: anomaly detected');
      await alerts.alert(alert);
    },
  };
}
