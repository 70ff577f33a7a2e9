// DingTalk as a platform module (bot/runtime/platform-module.ts), listed in bot/platforms.ts. Cheap to
// import: the bot loads inside start(). It has no outgoing notifiers yet: chat() offers none, so
// approval and review cards reach DingTalk users once a notifier is added here (one field each).
import type { PlatformModule } from '../runtime/platform-module.ts';
import { dingtalkConfigured, loadDingTalkConfig } from './config.ts';

export const dingtalkPlatform: PlatformModule = {
  id: 'dingtalk',
  configured: (env) => dingtalkConfigured(env),
  requires: ['mongo', 'redis', 'crypto', 'audit'],
  settings: (env) => loadDingTalkConfig(env),
  async start(config, logger, env) {
    return (await import('./runtime.ts')).startDingTalkBot(config, logger, {}, loadDingTalkConfig(env));
  },
  async chat() {
    return {};
  },
  testkit: ['test/fakes/dingtalk.ts', 'test/helpers/dingtalk-bot.ts'],
};
