// DingTalk as a platform module (bot/runtime/platform-module.ts), listed in bot/platforms.ts. Cheap to
// import: the bot and the API client load inside start() and chat(). Its cards go through the click
// ledger in Redis (card-delivery.ts), so a click is honoured only on a card custos delivered.
import { section } from '../config.ts';
import { chatRedis } from '../runtime/chat-redis.ts';
import type { PlatformModule } from '../runtime/platform-module.ts';
import { dingtalkConfigured, loadDingTalkConfig, type DingTalkSettings } from './config.ts';

export const dingtalkPlatform: PlatformModule = {
  id: 'dingtalk',
  // `@userid`: typed, or a picked `@name` the handlers turned into its userid (mentions.ts).
  mention: /^@([A-Za-z0-9_-]{1,64})$/,
  configured: (env) => dingtalkConfigured(env),
  requires: ['mongo', 'redis', 'crypto', 'audit'],
  settings: (env) => loadDingTalkConfig(env),
  async start(config, logger, { own, sync }) {
    const [{ startDingTalkBot }, { botFlows }] = await Promise.all([import('./runtime.ts'), import('../runtime/chat-flows.ts')]);
    // Requests, decisions, reviews, alert actions and audit queries, notified through the registry.
    return startDingTalkBot(config, logger, { sync, flows: (services) => botFlows(services, config, logger, 'dingtalk') }, own as DingTalkSettings);
  },
  async chat(ctx) {
    const [{ DingTalkApi }, { dingtalkCards }, { dingtalkChat }] = await Promise.all([import('./api.ts'), import('./card-delivery.ts'), import('./notifiers.ts')]);
    const settings = ctx.settings as DingTalkSettings;
    const { redis, close } = await chatRedis(ctx);
    const cards = dingtalkCards(new DingTalkApi(settings), redis, section(ctx.config, 'redis').keyPrefix);
    return { ...dingtalkChat(cards, ctx.logger, settings.securityConversationId, ctx.lookup), ...(close ? { close } : {}) };
  },
  testkit: ['test/fakes/dingtalk.ts', 'test/helpers/dingtalk-bot.ts'],
};
