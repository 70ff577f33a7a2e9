// Slack as a platform module (bot/runtime/platform-module.ts), listed in bot/platforms.ts. Cheap to
// import: Bolt and the bot load inside start() and chat().
import type { webApi } from '@slack/bolt';
import { loadConfig, section } from '../config.ts';
import type { PlatformModule } from '../runtime/platform-module.ts';

export const slackPlatform: PlatformModule = {
  id: 'slack',
  // `<@U123>` or `<@U123|name>`: how Slack writes a mention into the text of a command or message.
  mention: /^<@([A-Z0-9]+)(?:\|[^>]*)?>$/,
  // `custos start --only bot`, as before platforms were modules.
  component: 'bot',
  configured: (env, config) => (config ? Boolean(config.slack) : Boolean(env.SLACK_BOT_TOKEN || env.SLACK_BOT_TOKEN_FILE)),
  requires: ['mongo', 'redis', 'crypto', 'audit', 'slack'],
  settings: (env) => section(loadConfig(env, { require: ['slack'] }), 'slack'),
  async start(config, logger, { sync }) {
    return (await import('./runtime.ts')).startBot(config, logger, { sync });
  },
  async chat({ config, logger, lookup, own }) {
    const s = section(config, 'slack');
    const [{ webApi: api }, { SlackApprovalNotifier }, { SlackReviewNotifier }, { postSlackSecurityNotice }, { SlackExportDelivery }] = await Promise.all([
      import('@slack/bolt'), import('./approval-notifier.ts'), import('./review-notifier.ts'), import('./security-handlers.ts'), import('./export-delivery.ts'),
    ]);
    const client = own?.platform === 'slack' ? own.client as webApi.WebClient
      : new api.WebClient(s.botToken, { slackApiUrl: s.apiUrl, retryConfig: { retries: s.apiRetries } });
    const channel = config.securityChannel;
    return {
      approvals: new SlackApprovalNotifier(client, logger, lookup),
      reviews: new SlackReviewNotifier(client, logger),
      delivery: new SlackExportDelivery(client),
      ...(channel ? { securityNotice: (view) => postSlackSecurityNotice(client, channel, view) } : {}),
    };
  },
  testkit: ['test/fakes/slack-api.ts', 'test/fakes/slack-socket.ts', 'test/helpers/slack-bot.ts', 'test/helpers/slack-sign.ts', 'test/helpers/slack-driver.ts'],
};
