// `custos demo`: everything a newcomer needs to see custos work, in one command. Uses MONGODB_URI /
// REDIS_URL when set, else starts the same local services the tests use (mongod or the FerretDB build,
// and redis-server) with their data under --data-dir; generates demo keys once and keeps them there;
// seeds the demo company; runs the audit worker and the local playground; prints where to open it.
// Ctrl-C (SIGINT) or SIGTERM stops the playground, the worker and the services it started.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, section } from '../../config.ts';
import { createLogger } from '../../logger.ts';
import { startPlayground } from '../../playground/runtime.ts';
import { FieldCipher } from '../../store/crypto.ts';
import { connectDatabase, ensureIndexes } from '../../store/db.ts';
import { demoEmployee } from '../../store/demo-company.ts';
import { DEFAULT_DEMO_SEED, seedDemo } from '../../store/seed.ts';
import type * as Services from '../../../scripts/services.mjs';
import { startWorkers, stopOnSignals } from '../../../workers/main.ts';


interface DemoFlags { dataDir: string; port: number; customers: number }

const KEY_SETTINGS = ['CUSTOS_DATA_KEYS', 'CUSTOS_BLIND_INDEX_KEY', 'CUSTOS_AUDIT_HMAC_KEY', 'CUSTOS_AUDIT_SIGNING_KEY'] as const;
const DEMO_CUSTOMERS = 500;
const STOP_STEP_MS = 8000;

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
  const started = await services.startServices({ dataDir, log: (m) => say(m) });
  const stops: (() => Promise<unknown>)[] = [() => started.stop()];
  // Ctrl-C in a terminal signals the whole process group: redis and the database may already be gone
  // while the worker is closing, so every step is bounded and the services are stopped regardless.
  const stopAll = async () => { for (const s of stops.reverse()) await bounded(s().catch(() => undefined), STOP_STEP_MS); };
  try {
    const fromEnv = Object.fromEntries(KEY_SETTINGS.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MONGODB_DB: process.env.MONGODB_DB ?? 'custos_demo',
      ...demoKeys(dataDir), ...fromEnv, ...started.env,
      HTTP_HOST: '127.0.0.1', HTTP_PORT: String(flags.port),
    };
    const config = loadConfig(env, { require: ['mongo', 'redis', 'crypto', 'audit'] });
    const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
    say(`seeding the demo company (${flags.customers} customers)…`);
    const conn = await connectDatabase(section(config, 'mongo'));
    try {
      await ensureIndexes(conn);
      await seedDemo(conn, new FieldCipher(section(config, 'crypto')), { customers: flags.customers, seed: DEFAULT_DEMO_SEED });
    } finally {
      await conn.close().catch(() => undefined);
    }
    const workers = await startWorkers(config, logger);
    stops.push(() => workers.close());
    const playground = await startPlayground(config, logger);
    stops.push(() => playground.close());
    const rep = demoEmployee('salesRep');
    process.stdout.write([
      '',
      `custos demo is running: open ${playground.url}`,
      '  LOCAL USE ONLY: the playground verifies nobody.',
      `  Try: pick ${rep.name} (${rep.employeeId}, sales) and type "help", a customer id such as C-000001, or a name.`,
      '  Metrics: ' + new URL('/metrics', playground.url).href,
      '  Press Ctrl-C to stop everything.',
      '',
    ].join('\n') + '\n');
    stopOnSignals(stopAll, logger);
  } catch (err) {
    await stopAll();
    throw err;
  }
  // Keep the command pending: the process lives until a signal stops it.
  await new Promise<never>(() => undefined);
}

export function register(program: Command): void {
  program.command('demo')
    .description('run a self-contained demo: local services, the demo company, the audit worker and the local playground')
    .option('--data-dir <dir>', 'where the demo keeps its database, Redis data and generated keys', path.join('.data', 'demo'))
    .option('--port <port>', 'playground port on 127.0.0.1 (0: any free port)', wholeNumber(65535), 3000)
    .option('--customers <N>', 'number of demo customers', wholeNumber(1_000_000), DEMO_CUSTOMERS)
    .addHelpText('after', `
Uses MONGODB_URI / REDIS_URL when they are set; otherwise starts redis-server and mongod (or the FerretDB
build in .bin/, built by scripts/build-ferretdb.sh) with their data under --data-dir. Demo keys are
generated once into <data-dir>/demo-keys.env. Stop with Ctrl-C.

Examples:
  $ custos demo
  $ custos demo --port 8080 --customers 2000 --data-dir /tmp/custos-demo
`)
    .action(demo);
}
