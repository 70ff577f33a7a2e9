// The Slack side of the security services (built platform-neutrally in bot/runtime/security.ts): the
// alert cards go to the security channel (CUSTOS_SECURITY_CHANNEL), and the feature registers the
// card's buttons and the `user_change` offboarding listener.
import type { Config } from '../config.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { BotServices } from '../runtime/services.ts';
import type { SlackFeature } from './app.ts';
import { registerSlackSecurityHandlers, SlackSecurityAlerts } from './security-handlers.ts';

export interface SlackSecurity {
  /** For `buildServices`: the alert sink the security service posts to. */
  alerts: (directory: EmployeeDirectory) => SlackSecurityAlerts;
  /** The listeners, once the services exist. */
  feature: (services: BotServices) => SlackFeature;
}

export function slackSecurity(config: Config, logger: Logger): SlackSecurity {
  let alerts: SlackSecurityAlerts | undefined;
  return {
    alerts: (directory) => (alerts = new SlackSecurityAlerts({ channel: config.securityChannel, directory, locale: config.defaultLocale, logger })),
    feature: (s) => (app) => registerSlackSecurityHandlers(app, { offboarding: s.offboarding, alerts: alerts!, directory: s.directory, logger }),
  };
}
