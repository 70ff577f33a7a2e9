// `custos demo`: everything a newcomer needs to see custos work, in one command. Uses MONGODB_URI /
// REDIS_URL when set, else starts the same local services the tests use (mongod or the FerretDB build,
// and redis-server) with their data under --data-dir; generates demo keys once and keeps them there;
// seeds the demo company; runs the audit worker and the local playground; prints where to open it.
// Ctrl-C (SIGINT) or SIGTERM stops the playground, the worker and the services it started.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, section, type Config } from '../../config.ts';
import { systemClock, type Clock } from '../../core/ports.ts';
import { describeDays, localMoment } from '../../core/working-hours.ts';
import { createLogger } from '../../logger.ts';
import { startPlayground } from '../../playground/runtime.ts';
import { FieldCipher } from '../../store/crypto.ts';
import { connectDatabase } from '../../store/db.ts';
import { demoEmployee } from '../../store/demo-company.ts';
import { readDemoSeedMarker, seededAlready } from '../../store/demo-seed-marker.ts';
import { DEFAULT_DEMO_SEED, seedDemo } from '../../store/seed.ts';
import { loadPolicy } from '../../../policies/index.ts';
import type { Settings } from '../../../policies/schema.ts';
import { withinWorkingHours } from '../../../policies/engine/hours.ts';
import { demoClock, parseDemoTime, suggestedDemoTime } from '../demo-clock.ts';
import type * as Services from '../../../scripts/services.mjs';
import { startWorkers } from '../../../workers/main.ts';
import { stopOnSignals } from '../../../workers/signals.ts';


interface DemoFlags { dataDir: string; port: number; customers: number; at?: Date }

const KEY_SETTINGS = ['CUSTOS_DATA_KEYS', 'CUSTOS_BLIND_INDEX_KEY', 'CUSTOS_AUDIT_HMAC_KEY', 'CUSTOS_AUDIT_SIGNING_KEY'] as const;
const DEMO_CUSTOMERS = 500;
const STOP_STEP_MS = 8000;
const SEED_BATCH = 100;
const PROGRESS_MS = 2000;

function bounded(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}

function wholeNumber(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`expected a whole number from 0 to ${max}`);
    return n;
  };
}

/** The checkout (or installed package) root: where scripts/services.mjs lives, from source or dist/. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'scripts', 'services.mjs'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('scripts/services.mjs not found above this module');
    dir = up;
  }
  return dir;
}

/**
 * Demo keys, generated on first use and kept (mode 0600) in the data dir so that a second run reads the
 * data the first one encrypted. Keys set in the environment win. Demo only: real keys belong in a
 * secret store (README: Configuration).
 */
function demoKeys(dataDir: string): Record<string, string> {
  const file = path.join(dataDir, 'demo-keys.env');
  if (!existsSync(file)) {
    const k = () => randomBytes(32).toString('base64');
    const lines = [`CUSTOS_DATA_KEYS=demo1:${k()}`, `CUSTOS_BLIND_INDEX_KEY=${k()}`, `CUSTOS_AUDIT_HMAC_KEY=${k()}`, `CUSTOS_AUDIT_SIGNING_KEY=${k()}`];
    writeFileSync(file, `# custos demo keys (generated; demo data only)\n${lines.join('\n')}\n`, { mode: 0o600 });
  }
  const keys: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.+)$/.exec(line.trim());
    if (m && (KEY_SETTINGS as readonly string[]).includes(m[1]!)) keys[m[1]!] = m[2]!;
  }
  return keys;
}

async function demo(flags: DemoFlags): Promise<void> {
  const dataDir = path.resolve(flags.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const say = (line: string) => process.stderr.write(`custos demo: ${line}\n`);
  const services = await import(pathToFileURL(path.join(packageRoot(), 'scripts', 'services.mjs')).href) as typeof Services;
  say(`data in ${dataDir}`);
  // The servers get their own process groups: Ctrl-C signals the terminal's whole foreground group, and
  // Redis must outlive the workers that are still closing (else they log connection errors on the way out).
  const started = await services.startServices({ dataDir, log: (m) => say(m), ownProcessGroup: true });
  const stops: (() => Promise<unknown>)[] = [() => started.stop()];
  // Every step is bounded and the services are stopped regardless.
  const stopAll = async () => { for (const s of stops.reverse()) await bounded(s().catch(() => undefined), STOP_STEP_MS); };
  try {
    const fromEnv = Object.fromEntries(KEY_SETTINGS.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
    const settings: Record<string, string> = {
      MONGODB_URI: started.env.MONGODB_URI!, MONGODB_DB: process.env.MONGODB_DB ?? 'custos_demo', REDIS_URL: started.env.REDIS_URL!,
      ...demoKeys(dataDir), ...fromEnv,
    };
    const env: NodeJS.ProcessEnv = { ...process.env, ...started.env, ...settings, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(flags.port) };
    const config = loadConfig(env, { require: ['mongo', 'redis', 'crypto', 'audit'] });
    const envFile = writeDemoEnv(dataDir, settings);
    const clock = flags.at ? demoClock(flags.at) : systemClock;
    const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
    await seedOnce(config, flags.customers, say);
    const workers = await startWorkers(config, logger, clock);
    stops.push(() => workers.close());
    const playground = await startPlayground(config, logger, { clock });
    stops.push(() => playground.close());
    process.stdout.write(banner(playground.url, envFile, settings, clock, flags.at, loadPolicy(config.policyDir).settings.workingHours));
    stopOnSignals(stopAll, logger);
  } catch (err) {
    await stopAll();
    throw err;
  }
  // Keep the command pending: the process lives until a signal stops it.
  await new Promise<never>(() => undefined);
}

/**
 * Seeds the demo company unless the marker says exactly this seed and size are there already (a restart
 * on existing data then takes seconds). Progress every batch: a first seed on FerretDB takes a while.
 */
async function seedOnce(config: Config, customers: number, say: (line: string) => void): Promise<void> {
  const conn = await connectDatabase(section(config, 'mongo'));
  try {
    const want = { seed: DEFAULT_DEMO_SEED, customers };
    if (seededAlready(await readDemoSeedMarker(conn), want)) {
      say(`the demo company (${customers} customers) is already seeded; skipping the seed`);
      return;
    }
    say(`seeding the demo company (${customers} customers)…`);
    let last = 0;
    await seedDemo(conn, new FieldCipher(section(config, 'crypto')), {
      ...want, batchSize: SEED_BATCH,
      onProgress: (done, total) => {
        if (done === total || Date.now() - last > PROGRESS_MS) { last = Date.now(); say(`  seeded ${done}/${total} customers`); }
      },
    });
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Everything a second terminal needs to reach the demo's data, mode 0600 (it holds the demo keys). */
function writeDemoEnv(dataDir: string, settings: Record<string, string>): string {
  const file = path.join(dataDir, 'demo.env');
  const lines = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  writeFileSync(file, `# custos demo settings, valid while \`custos demo\` runs (its services use these ports).\n`
    + `# Use: custos --env-file ${file} <command>\n${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

function banner(url: string, envFile: string, settings: Record<string, string>, clock: Clock, at: Date | undefined, hours: Settings['workingHours']): string {
  const rep = demoEmployee('salesRep');
  const agent = demoEmployee('supportAgent');
  const now = clock.now();
  const rel = path.relative(process.cwd(), envFile);
  const shown = rel.startsWith('..') ? envFile : rel;
  const lines = [
    '',
    `custos demo is running: open ${url}`,
    '  LOCAL USE ONLY: the playground verifies nobody.',
    `  Try: pick ${rep.name} (${rep.employeeId}, sales) and type "help", a customer id such as C-000001, or a name.`,
    `  Demo clock: ${at ? `set by --at, now ${localMoment(now, rep.timezone, 'en')} ${rep.timezone}` : `real time, ${localMoment(now, rep.timezone, 'en')} ${rep.timezone}`}.`,
  ];
  if (!withinWorkingHours({ workingHours: hours }, rep.timezone, now)) {
    lines.push(
      `  NOTE: that is outside the sales staff's working hours (${describeDays(hours.days, 'en')} ${hours.start}–${hours.end} ${rep.timezone}),`,
      `  so ${rep.name}'s lookups are refused. Follow the story now with: custos demo --at ${suggestedDemoTime(now, hours, rep.timezone)}`,
      `  (the demo's clock then starts at that time and runs on), or pick ${agent.name} (${agent.employeeId}, support, 24/7).`,
    );
  }
  lines.push(
    `  Second terminal: settings in ${shown} (MONGODB_URI=${settings.MONGODB_URI}, MONGODB_DB=${settings.MONGODB_DB}, REDIS_URL=${settings.REDIS_URL}, demo keys)`,
    `    npm run -s custos -- --env-file ${shown} audit verify`,
    '  Metrics: ' + new URL('/metrics', url).href,
    '  Press Ctrl-C to stop everything.',
    '',
  );
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program.command('demo')
    .description('run a self-contained demo: local services, the demo company, the audit worker and the local playground')
    .option('--data-dir <dir>', 'where the demo keeps its database, Redis data and generated keys', path.join('.data', 'demo'))
    .option('--port <port>', 'playground port on 127.0.0.1 (0: any free port)', wholeNumber(65535), 3000)
    .option('--customers <N>', 'number of demo customers', wholeNumber(1_000_000), DEMO_CUSTOMERS)
    .option('--at <time>', 'demo clock: the demo company\'s "now" starts at this ISO time (with a zone) and runs on, e.g. 2026-06-30T10:30+08:00', parseDemoTime)
    .addHelpText('after', `
Uses MONGODB_URI / REDIS_URL when they are set; otherwise starts redis-server and mongod (or the FerretDB
build in .bin/, built by scripts/build-ferretdb.sh) with their data under --data-dir. Demo keys are
generated once into <data-dir>/demo-keys.env; everything a second terminal needs (MONGODB_URI, MONGODB_DB,
REDIS_URL, the keys) is written to <data-dir>/demo.env: \`custos --env-file .data/demo/demo.env …\`.
A restart on the same data dir skips the seed. Sales staff work Mon–Fri 08:00–20:00 Asia/Shanghai: outside
those hours pass --at to start the demo's clock inside them. Stop with Ctrl-C.

Examples:
  $ custos demo
  $ custos demo --port 8080 --customers 2000 --data-dir /tmp/custos-demo
  $ custos demo --at 2026-06-30T10:30+08:00      # a Tuesday morning in Shanghai, whatever the hour here
`)
    .action(demo);
}
