// What `custos start` runs as "the bot": a chat platform adapter when one is configured, otherwise the
// local playground (the embedded default, so a fresh checkout shows something useful).
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { BOT_CONFIG_SECTIONS, startBot } from '../slack/runtime.ts';
import { PLAYGROUND_CONFIG_SECTIONS, startPlayground } from './runtime.ts';

/** True when the environment names a chat platform's credentials (then the playground stays off). */
export function chatPlatformConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.SLACK_BOT_TOKEN || env.SLACK_BOT_TOKEN_FILE);
}

export function botConfigSections(env: NodeJS.ProcessEnv): readonly ('mongo' | 'redis' | 'crypto' | 'audit' | 'slack')[] {
  return chatPlatformConfigured(env) ? BOT_CONFIG_SECTIONS : PLAYGROUND_CONFIG_SECTIONS;
}

export async function startBotOrPlayground(config: Config, logger: Logger): Promise<{ close(): Promise<void> }> {
  if (config.slack) return startBot(config, logger);
  const playground = await startPlayground(config, logger);
  // On stderr too, not only in the JSON log: the person who typed `custos start` must see it.
  process.stderr.write(`\ncustos playground: ${playground.url}\n  LOCAL USE ONLY: it verifies nobody; anyone who can open it can act as any employee.\n  Configure SLACK_BOT_TOKEN (and the rest of README: Slack) for real use.\n\n`);
  return playground;
}
