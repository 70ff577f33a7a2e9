// `custos start [--only <component>]`: runs the long-lived parts of custos in this process and stops
// them gracefully on SIGTERM / SIGINT (finish or release in-flight jobs, close queues and database).
// Each component is one entry in COMPONENTS: whether a plain start runs it, and its module, loaded only
// when it runs, with what it needs from the configuration and how it starts: `--only worker` or
// `--only stream` loads neither Bolt nor the Lark SDK (a second of CPU per process start). The chat
// platforms come from the registry (bot/platforms.ts): one component per platform module.
import { Option, type Command } from 'commander';
import { streamConfigured } from '../../config-stream.ts';
import { loadConfig, type Config, type ConfigSection } from '../../config.ts';
import { createLogger, type Logger } from '../../logger.ts';
import { PLATFORMS } from '../../platforms.ts';
import type { PlatformModule } from '../../runtime/platform-module.ts';
import { stopOnSignals } from '../../../workers/signals.ts';

interface Running { close(): Promise<void> }

interface ComponentModule {
  requires: readonly ConfigSection[];
  start: (config: Config, logger: Logger) => Promise<Running>;
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
    load: async (env) => ({ requires: m.requires, start: (config, logger) => m.start(config, logger, env) }),
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
      const { WORKER_CONFIG_SECTIONS, startWorkers } = await import('../../../workers/main.ts');
      return { requires: WORKER_CONFIG_SECTIONS, start: (config, logger) => startWorkers(config, logger) };
    },
  },
  botComponent(),
  // Every other registered platform when its key setting is set (LARK_APP_ID, DINGTALK_APP_KEY, WECOM_CORP_ID, …).
  ...PLATFORMS.all().filter((m) => m.component !== 'bot').map(platformComponent),
  // The audit stream to SIEM sinks and checkpoint anchors, when CUSTOS_STREAM_SINKS or an anchor is set.
  {
    name: 'stream',
    load: async () => {
      const { STREAM_CONFIG_SECTIONS, startStream } = await import('../../../workers/stream/start.ts');
      return { requires: STREAM_CONFIG_SECTIONS, start: startStream };
    },
    enabled: streamConfigured,
  },
];

async function start(opts: { only?: string }): Promise<void> {
  const chosen = COMPONENTS.filter((c) => (opts.only === undefined ? (c.enabled?.(process.env) ?? true) : c.name === opts.only));
  const runnable = await Promise.all(chosen.map(async (c) => ({ name: c.name, ...(await c.load(process.env)) })));
  const config = loadConfig(process.env, { require: [...new Set(runnable.flatMap((c) => c.requires))] });
  const logger = createLogger({ level: config.logLevel });
  const running: Running[] = [];
  try {
    for (const c of runnable) running.push(await c.start(config, logger));
  } catch (err) {
    for (const r of running.reverse()) await r.close().catch(() => undefined);
    throw err;
  }
  logger.info({ components: runnable.map((c) => c.name) }, 'custos started');
  stopOnSignals(async () => {
    for (const r of [...running].reverse()) await r.close();
  }, logger);
  // Keep the command's promise pending: the process lives until a signal stops it.
  await new Promise<never>(() => undefined);
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
