// The local playground as a `custos start` component: "the bot" when no chat platform is configured
// (the embedded default, so a fresh checkout shows something useful; bot/cli/commands/start.ts decides).
// Only the chosen side's module is loaded: the playground needs no Bolt, a Slack deployment no playground.
import type { Config, ConfigSection } from '../config.ts';
import type { Logger } from '../logger.ts';

export interface BotComponent {
  /** The configuration sections it needs. */
  requires: readonly ConfigSection[];
  start(config: Config, logger: Logger): Promise<{ close(): Promise<void> }>;
}

/** The local playground as `custos start` runs it when no chat platform is configured. */
export async function playgroundComponent(): Promise<BotComponent> {
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
