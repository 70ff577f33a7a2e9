// `custos start [--only <component>]`: runs the long-lived parts of custos in this process and stops
// them gracefully on SIGTERM / SIGINT (finish or release in-flight jobs, close queues and database).
// Each component is one entry in COMPONENTS: whether a plain start runs it, and its module, loaded only
// when it runs, with what it needs from the configuration and how it starts: `--only worker` or
// `--only stream` loads neither Bolt nor the Lark SDK (a second of CPU per process start). The chat
// platforms come from the registry (bot/platforms.ts): one component per platform module.
import { Option, type Command } from 'commander';
import { streamConfigured, type StreamSettings } from '../../config-stream.ts';
import { loadSyncConfig, type SyncConfig } from '../../config-sync.ts';
import { CustosError, ErrorCode, isCustosError } from '../../core/errors.ts';
import type { WorkerSettings } from '../../../workers/main.ts';
import { loadConfig, type Config, type ConfigSection } from '../../config.ts';
import { createLogger, type Logger } from '../../logger.ts';
import { PLATFORMS } from '../../platforms.ts';
import { ownSettings, type BotSettings, type PlatformModule } from '../../runtime/platform-module.ts';
import { closeEach } from '../../../workers/closing.ts';
import { stopOnSignals } from '../../../workers/signals.ts';

interface Running { close(): Promise<void> }

interface ComponentModule {
  requires: readonly ConfigSection[];
  /** Its own settings, parsed before anything starts so that one error lists every part's problems. */
  settings?: (env: NodeJS.ProcessEnv) => unknown;
  start: (config: Config, logger: Logger, settings: unknown) => Promise<Running>;
}

interface Component {
  name: string;
  load: (env: NodeJS.ProcessEnv) => Promise<ComponentModule>;
  /** Whether a plain `custos start` runs it (default: always); `--only NAME` runs it regardless. */
  enabled?: (env: NodeJS.ProcessEnv) => boolean;
}

/** A chat platform's bot, from its module (bot/platforms.ts): its own port, its own settings. */
function platformComponent(m: PlatformModule): Component {
  return {
    name: m.component ?? m.id,
    load: async () => ({
      requires: m.requires,
      // A bot also mounts the CRM sync's push and webhook routes (bot/sync/http-routes.ts): its settings too.
      settings: (e): BotSettings => { const [own, sync] = parsedTogether([() => m.settings(e), () => loadSyncConfig(e)]) as [unknown, SyncConfig]; return { own, sync }; },
      start: (config, logger, settings) => m.start(config, logger, settings as BotSettings),
    }),
    enabled: (env) => m.configured(env),
  };
}

/**
 * "bot": the platform whose component is named so (Slack) when configured, else the local playground
 * (bot/playground/component.ts). A plain start runs the playground only when no platform is configured:
 * the unauthenticated playground must never run beside a real deployment.
 */
function botComponent(): Component {
  const chat = PLATFORMS.all().find((m) => m.component === 'bot');
  return {
    name: 'bot',
    load: async (env) => (chat?.configured(env) ? platformComponent(chat).load(env) : (await import('../../playground/component.ts')).playgroundComponent()),
    enabled: (env) => Boolean(chat?.configured(env)) || PLATFORMS.configured(env).length === 0,
  };
}

const COMPONENTS: Component[] = [
  {
    name: 'worker',
    load: async () => {
      const { WORKER_CONFIG_SECTIONS, startWorkers, workerSettings } = await import('../../../workers/main.ts');
      return {
        requires: WORKER_CONFIG_SECTIONS,
        // The workers chat on every configured platform: settings of their own (not a shared section, which
        // loadConfig checks) are checked here too, not at the first card.
        settings: (env) => parsedTogether([
          ...PLATFORMS.configured(env).filter(ownSettings).map((m) => () => m.settings(env)),
          () => workerSettings(env),
        ]).at(-1),
        start: (config, logger, settings) => startWorkers(config, logger, undefined, settings as WorkerSettings),
      };
    },
  },
  botComponent(),
  // Every other registered platform when its key setting is set (LARK_APP_ID, DINGTALK_APP_KEY, WECOM_CORP_ID, …).
  ...PLATFORMS.all().filter((m) => m.component !== 'bot').map(platformComponent),
  // The audit stream to SIEM sinks and checkpoint anchors, when CUSTOS_STREAM_SINKS or an anchor is set.
  {
    name: 'stream',
    load: async () => {
      const [{ STREAM_CONFIG_SECTIONS, startStream }, { loadStreamConfig }] = await Promise.all([import('../../../workers/stream/start.ts'), import('../../config-stream.ts')]);
      return { requires: STREAM_CONFIG_SECTIONS, settings: loadStreamConfig, start: (config, logger, settings) => startStream(config, logger, settings as StreamSettings) };
    },
    enabled: streamConfigured,
  },
];

async function start(opts: { only?: string }): Promise<void> {
  const chosen = COMPONENTS.filter((c) => (opts.only === undefined ? (c.enabled?.(process.env) ?? true) : c.name === opts.only));
  const runnable = await Promise.all(chosen.map(async (c) => ({ name: c.name, ...(await c.load(process.env)) })));
  const [config, ...settings] = parsedTogether([
    () => loadConfig(process.env, { require: [...new Set(runnable.flatMap((c) => c.requires))] }),
    ...runnable.map((c) => () => c.settings?.(process.env)),
  ]) as [Config, ...unknown[]];
  const logger = createLogger({ level: config.logLevel });
  const running: Running[] = [];
  try {
    for (const [i, c] of runnable.entries()) running.push(await c.start(config, logger, settings[i]));
  } catch (err) {
    for (const r of running.reverse()) await r.close().catch(() => undefined);
    throw err;
  }
  logger.info({ components: runnable.map((c) => c.name) }, 'custos started');
  stopOnSignals(() => closeEach(logger, running.map((r, i) => [runnable[i]!.name, () => r.close()] as const).reverse()), logger);
  // Keep the command's promise pending: the process lives until a signal stops it.
  await new Promise<never>(() => undefined);
}

/** Runs every parser; their ConfigInvalid problems are reported together, in one error. */
function parsedTogether(parsers: (() => unknown)[]): unknown[] {
  const problems: string[] = [];
  const parsed = parsers.map((parse) => {
    try {
      return parse();
    } catch (err) {
      if (!isCustosError(err, ErrorCode.ConfigInvalid)) throw err;
      problems.push(...(Array.isArray(err.details.problems) ? err.details.problems as string[] : [err.message]));
      return undefined;
    }
  });
  const unique = [...new Set(problems)];
  if (unique.length > 0) {
    throw new CustosError(ErrorCode.ConfigInvalid, `invalid configuration (${unique.length} problem${unique.length === 1 ? '' : 's'}):\n${unique.map((p) => `  - ${p}`).join('\n')}`, { problems: unique });
  }
  return parsed;
}

const START_HELP = `
Parts: worker (the audit chain writer: needs MONGODB_URI, REDIS_URL, CUSTOS_AUDIT_HMAC_KEY and
CUSTOS_AUDIT_SIGNING_KEY; plus the approval sweeper, exports and access reviews when Slack or Lark and
the data keys are configured); bot (Slack when SLACK_BOT_TOKEN is set,
else the local playground; also CUSTOS_DATA_KEYS and CUSTOS_BLIND_INDEX_KEY; /healthz, /readyz and
/metrics on HTTP_PORT); lark (when LARK_APP_ID is set; its own LARK_HTTP_PORT); dingtalk (when
DINGTALK_APP_KEY is set; its own DINGTALK_HTTP_PORT); wecom (when WECOM_CORP_ID is set; its own
WECOM_HTTP_PORT); stream (the audit
stream to Splunk HEC, syslog and OTLP sinks and the checkpoint anchors, when CUSTOS_STREAM_SINKS or
CUSTOS_STREAM_ANCHOR_FILE / _URL is set; needs MONGODB_URI). Without --only, the
worker and every configured part run in this process. SIGTERM or Ctrl-C stops gracefully: in-flight
jobs finish or are released, queues and database connections are closed. See README: Configuration.

Examples:
  $ custos start                    # workers + the configured bot(s)
  $ custos start --only worker      # the workers alone (run bots elsewhere)
  $ custos start --only bot
  $ custos start --only stream      # the audit stream to the SIEM sinks alone
`;

export function register(program: Command): void {
  program.command('start')
    .description('run custos (the chat bot and the background workers) until SIGTERM')
    .addOption(new Option('--only <component>', 'run only one part').choices(COMPONENTS.map((c) => c.name)))
    .addHelpText('after', START_HELP)
    .action(start);
}
