// WeCom (企业微信) as a platform module (bot/runtime/platform-module.ts), listed in bot/platforms.ts.
// Cheap to import: the API client and the bot load inside start() and chat(). Its approval cards keep
// each clicked card's response_code in Redis under wecomResponseCodes() (approval-notifier.ts: the
// click handler stores it, the notifier uses it once for the final state).
import { section } from '../config.ts';
import { chatRedis } from '../runtime/chat-redis.ts';
import type { PlatformModule } from '../runtime/platform-module.ts';
import { loadWeComConfig, type WeComConfig } from './config.ts';

export const wecomPlatform: PlatformModule = {
  id: 'wecom',
  // `<@userid>`, WeCom's mention in markdown messages (userids: letters, digits, _ - . @; at most 64).
  mention: /^<@([A-Za-z0-9_.@-]{1,64})>$/,
  configured: (env) => Boolean(env.WECOM_CORP_ID),
  requires: ['mongo', 'redis', 'crypto', 'audit'],
  settings: (env) => loadWeComConfig(env),
  async start(config, logger, { own, sync }) {
    const [{ startWeComBot }, { botFlows }] = await Promise.all([import('./runtime.ts'), import('../runtime/chat-flows.ts')]);
    // Requests, decisions and reviews, notified through the registry (approval-notifier.ts uses each
    // clicked card's stored response_code once).
    return startWeComBot(config, own as WeComConfig, logger, { sync, flows: ({ services }) => botFlows(services, config, logger, 'wecom') });
  },
  async chat(ctx) {
    const settings = ctx.settings as WeComConfig;
    const [{ WeComApi }, { ResponseCodes, WeComApprovalNotifier, wecomResponseCodes }, { WeComReviewNotifier, wecomSecurityMembers }, { wecomExportDelivery }] = await Promise.all([
      import('./api.ts'), import('./approval-notifier.ts'), import('./notices.ts'), import('./export-delivery.ts'),
    ]);
    // Where a click's code is kept (chatRedis: the process's Redis, else one of its own, connected on first use).
    const { redis, close } = await chatRedis(ctx);
    const codes = new ResponseCodes(redis, wecomResponseCodes(section(ctx.config, 'redis').queuePrefix));
    const { logger, lookup } = ctx;
    const api = new WeComApi(settings, logger);
    const security = wecomSecurityMembers(api, settings.securityUsers);
    return {
      approvals: new WeComApprovalNotifier({ api, codes, logger, ...(lookup ? { lookup } : {}) }),
      reviews: new WeComReviewNotifier({ api, codes, logger }),
      delivery: wecomExportDelivery(api),
      ...(security ? { securityNotice: security.notice } : {}),
      ...(close ? { close } : {}),
    };
  },
  testkit: ['test/fakes/wecom.ts', 'test/helpers/wecom-bot.ts'],
};
