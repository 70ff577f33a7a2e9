// `custos start [--only <component>]`: runs the long-lived parts of custos in this process and stops
// them gracefully on SIGTERM / SIGINT (finish or release in-flight jobs, close queues and database).
// Each component is one entry in COMPONENTS: what it needs from the configuration and how it starts.
import { Option, type Command } from 'commander';
import { loadConfig, type Config, type ConfigSection } from '../../config.ts';
import { createLogger, type Logger } from '../../logger.ts';
import { WORKER_CONFIG_SECTIONS, startWorkers, stopOnSignals } from '../../../workers/main.ts';
import { botConfigSections, startBotOrPlayground } from '../../playground/component.ts';

interface Running { close(): Promise<void> }

interface Component {
  name: string;
  requires: readonly ConfigSection[];
  start: (config: Config, logger: Logger) => Promise<Running>;
}

const COMPONENTS: Component[] = [
  { name: 'worker', requires: WORKER_CONFIG_SECTIONS, start: startWorkers },
  // A chat platform when configured, else the local playground (bot/playground/component.ts).
  { name: 'bot', requires: botConfigSections(process.env), start: startBotOrPlayground },
];

async function start(opts: { only?: string }): Promise<void> {
  const runnable = COMPONENTS.filter((c) => opts.only === undefined || c.name === opts.only);
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

export function register(program: Command): void {
  program.command('start')
    .description('run custos (the chat bot and the background workers) until SIGTERM')
    .addOption(new Option('--only <component>', 'run only one part').choices(COMPONENTS.map((c) => c.name)))
    .action(start);
}
