// Lark / Feishu as a platform module (bot/runtime/platform-module.ts), listed in bot/platforms.ts.
// Cheap to import: the Lark SDK and the bot load inside start() and chat().
import { loadConfig, section } from '../config.ts';
import type { PlatformModule } from '../runtime/platform-module.ts';
import type { LarkApi } from './api.ts';

export const larkPlatform: PlatformModule = {
  id: 'lark',
  // The handlers replace each `@_user_N` placeholder by the person's open_id (audit-handlers.ts).
  mention: /^(ou_[A-Za-z0-9]+)$/,
  configured: (env, config) => (config ? Boolean(config.lark) : Boolean(env.LARK_APP_ID)),
  requires: ['mongo', 'redis', 'crypto', 'audit', 'lark'],
  settings: (env) => section(loadConfig(env, { require: ['lark'] }), 'lark'),
  async start(config, logger, { sync }) {
    return (await import('./runtime.ts')).startLarkBot(config, logger, { sync });
  },
  async chat({ config, logger, lookup, own }) {
    const [{ LarkApi: Api }, { LarkApprovalNotifier }, { LarkReviewNotifier }, { larkSecurityChat }, { larkExportDelivery }] = await Promise.all([
      import('./api.ts'), import('./approval-notifier.ts'), import('./review-notifier.ts'), import('./security-cards.ts'), import('./export-delivery.ts'),
    ]);
    const api = own?.platform === 'lark' ? own.client as LarkApi : Api.create(section(config, 'lark'), logger);
    const security = larkSecurityChat(api, config.lark?.securityChat);
    return {
      approvals: new LarkApprovalNotifier(api, logger, lookup),
      reviews: new LarkReviewNotifier(api, logger),
      delivery: larkExportDelivery(api),
      ...(security ? { securityNotice: security.notice } : {}),
    };
  },
  testkit: ['test/fakes/lark-api.ts', 'test/fakes/lark-ws.ts', 'test/helpers/lark-bot.ts', 'test/helpers/lark-sign.ts', 'test/helpers/lark-driver.ts'],
};
