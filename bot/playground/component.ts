// What `custos start` runs as "the bot": a chat platform adapter when one is configured, otherwise the
// local playground (the embedded default, so a fresh checkout shows something useful). Only the chosen
// side's module is loaded: the playground needs no Bolt, a Slack deployment no playground.
import type { Config, ConfigSection } from '../config.ts';
import type { Logger } from '../logger.ts';

/** True when the environment names a chat platform's credentials (then the playground stays off). */
export function chatPlatformConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.SLACK_BOT_TOKEN || env.SLACK_BOT_TOKEN_FILE);
}

export interface BotComponent {
  /** The configuration sections it needs. */
  requires: readonly ConfigSection[];
  start(config: Config, logger: Logger): Promise<{ close(): Promise<void> }>;
}

/** The bot `env` calls for: Slack when its credentials are set, else the playground. */
export async function botComponent(env: NodeJS.ProcessEnv): Promise<BotComponent> {
  if (chatPlatformConfigured(env)) {
    const { BOT_CONFIG_SECTIONS, startBot } = await import('../slack/runtime.ts');
    return { requires: BOT_CONFIG_SECTIONS, start: (config, logger) => startBot(config, logger) };
  }
  const { PLAYGROUND_CONFIG_SECTIONS, startPlayground } = await import('./runtime.ts');
  return {
    requires: PLAYGROUND_CONFIG_SECTIONS,
    async start(config, logger) {
      const playground = await startPlayground(config, logger);
      // On stderr too, not only in the JSON log: the person who typed `custos start` must see it.
      process.stderr.write(`\ncustos playground: ${playground.url}\n  LOCAL USE ONLY: it verifies nobody; anyone who can open it can act as any employee.\n  Configure SLACK_BOT_TOKEN (and the rest of README: Slack) for real use.\n\n`);
      return playground;
    },
  };
}
