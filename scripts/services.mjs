// Starts the services custos needs (Redis and a MongoDB wire-protocol server) on free loopback ports
// with temporary data directories, unless REDIS_URL / MONGODB_URI already point somewhere.
// Used by `npm test`, `npm run services`, `npm run bench` and `custos demo`: one way to get real services.
// Plain JavaScript so it runs before anything is compiled.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync, statfsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Asks the kernel for a free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Where a temporary data directory goes: memory (/dev/shm) when the machine has room there, else the
 * system's temporary directory. The data is removed at stop, so durability buys nothing, and on disk
 * SQLite's sync at every commit costs FerretDB 1-3 ms a write: hundreds of writes in every test file.
 * Room: 2 GB free (Docker gives containers 64 MB by default; a test run writes a few hundred MB at most).
 */
function scratchRoot() {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= 2 * 1024 ** 3) return '/dev/shm';
  } catch { /* no /dev/shm here */ }
  return os.tmpdir();
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** Resolves when `probe` succeeds, rejects after `ms`, or as soon as the child exits. */
async function waitFor(name, child, probe, ms) {
  const deadline = Date.now() + ms;
  let exited = null;
  child.once('exit', (code, signal) => { exited = `${code ?? signal}`; });
  for (;;) {
    if (exited !== null) throw new Error(`${name} exited during start-up (${exited})`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends `payload` to host:port and resolves with the first chunk of the answer. */
function tcpExchange(port, payload) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('timeout')); }, 1000);
    sock.once('connect', () => { if (payload) sock.write(payload); else { clearTimeout(timer); sock.end(); resolve(''); } });
    sock.once('data', (d) => { clearTimeout(timer); sock.end(); resolve(d.toString()); });
    sock.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

async function startRedis(dir, log, detached = false) {
  if (!onPath('redis-server')) {
    throw new Error('redis-server is not on PATH: install it (Debian: apt-get install redis-server) or set REDIS_URL');
  }
  const port = await freePort();
  const data = path.join(dir, 'redis');
  mkdirSync(data, { recursive: true });
  // noeviction + appendonly: the settings BullMQ needs in production, so tests see the same behaviour.
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
    '--appendfsync', 'no', '--maxmemory-policy', 'noeviction', '--dir', data, '--daemonize', 'no',
    '--logfile', path.join(data, 'redis.log'),
  ], { stdio: 'ignore', detached });
  await waitFor('redis-server', child, async () => (await tcpExchange(port, 'PING\r\n')).startsWith('+PONG'), 15000);
  log(`redis    redis://127.0.0.1:${port}`);
  return { url: `redis://127.0.0.1:${port}`, child, port };
}

function ensureFerretDb(log) {
  const bin = path.join(root, '.bin', 'ferretdb');
  const r = spawnSync('bash', [path.join(root, 'scripts', 'build-ferretdb.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !existsSync(bin)) throw new Error('could not build FerretDB (scripts/build-ferretdb.sh); install Go >= 1.24 or set MONGODB_URI');
  log('mongo    using FerretDB (.bin/ferretdb)');
  return bin;
}

/** Creates an empty database for one run on the PostgreSQL server at `url` (psql, trust auth) and returns its URL. */
async function freshPostgresDatabase(url, log) {
  const name = `custos_${process.pid}_${Date.now().toString(36)}`;
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot create a PostgreSQL database for FerretDB at ${url}: ${(r.stderr || '').trim()}`);
  postgresCleanups.push(() => spawnSync('psql', [url, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]));
  const u = new URL(url);
  u.pathname = `/${name}`;
  log(`mongo    FerretDB on PostgreSQL database ${name}`);
  return u.toString();
}
const postgresCleanups = [];

/** The PostgreSQL server FerretDB runs on when asked to prefer it: the one a developer machine has. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** True when `psql` reaches `url` (trust auth) within a few seconds. */
function postgresAnswers(url) {
  if (!onPath('psql')) return false;
  return spawnSync('psql', [url, '-qAtc', 'SELECT 1'], { encoding: 'utf8', timeout: 5000 }).stdout?.trim() === '1';
}

/**
 * The PostgreSQL URL FerretDB should use, or undefined for SQLite: CUSTOS_FERRETDB_POSTGRES_URL when
 * set; with `preferPostgres` (the benches), the local server when it answers.
 */
function postgresUrlFor(preferPostgres, log) {
  const explicit = process.env.CUSTOS_FERRETDB_POSTGRES_URL;
  if (explicit) return explicit;
  if (!preferPostgres) return undefined;
  if (postgresAnswers(DEFAULT_POSTGRES_URL)) return DEFAULT_POSTGRES_URL;
  log(`mongo    no PostgreSQL at ${DEFAULT_POSTGRES_URL}: FerretDB on SQLite (scans every query)`);
  return undefined;
}

async function startMongo(dir, log, preferPostgres, detached = false) {
  const port = await freePort();
  const data = path.join(dir, 'mongo');
  mkdirSync(data, { recursive: true });
  let child;
  let backend;
  let pgDatabaseUrl;
  if (onPath('mongod') && process.env.CUSTOS_FORCE_FERRETDB !== '1') {
    backend = 'mongod';
    child = spawn('mongod', ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', data, '--quiet',
      '--logpath', path.join(data, 'mongod.log')], { stdio: 'ignore', detached });
  } else {
    const bin = ensureFerretDb(log);
    // FerretDB's PostgreSQL backend pushes top-level equality filters down to PostgreSQL (as jsonb `@>`,
    // which its own btree indexes cannot serve: bench/ferretdb-pg.ts adds GIN indexes that can); its
    // SQLite backend filters everything but _id in FerretDB. Benches over 100,000 documents need PG; the
    // tests default to SQLite (nothing else to run), PostgreSQL when CUSTOS_FERRETDB_POSTGRES_URL is set;
    // the benches prefer PostgreSQL whenever the local server answers.
    const pg = postgresUrlFor(preferPostgres, log);
    backend = pg ? 'ferretdb-postgresql' : 'ferretdb-sqlite';
    pgDatabaseUrl = pg ? await freshPostgresDatabase(pg, log) : undefined;
    const handler = pg ? ['--handler=postgresql', `--postgresql-url=${pgDatabaseUrl}`] : [`--sqlite-url=file:${data}/`];
    // GOGC 400 (Go's default is 100): FerretDB allocates afresh for every document a query scans, and on
    // SQLite it scans for every filter but _id, so with the default the collector ran ~40 % of its CPU
    // (bench audit-query at 2,500 events: 10.5-12.0 s of FerretDB CPU, 6.3-7.2 s at 400; peak RSS 57 ->
    // ~95 MB). An explicit GOGC in the environment wins.
    child = spawn(bin, [...handler, `--listen-addr=127.0.0.1:${port}`, '--log-level=error'],
      { stdio: 'ignore', detached, env: { GOGC: '400', ...process.env, DO_NOT_TRACK: '1' } });
  }
  await waitFor('mongo server', child, async () => { await tcpExchange(port, null); return true; }, 30000);
  log(`mongo    mongodb://127.0.0.1:${port}`);
  return { url: `mongodb://127.0.0.1:${port}`, child, port, backend, pgDatabaseUrl };
}

/**
 * Starts what is missing. Returns { env: { REDIS_URL, MONGODB_URI, CUSTOS_MONGO_BACKEND }, stop() }.
 * `dataDir` keeps the data (for `custos demo`); by default a temporary directory is removed on stop.
 * `preferPostgres` runs FerretDB on the local PostgreSQL server when one answers (benches).
 * CUSTOS_MONGO_BACKEND names what answers MONGODB_URI (mongod, ferretdb-postgresql, ferretdb-sqlite,
 * external) so a bench can say what it measured; CUSTOS_FERRETDB_PG_DATABASE_URL is the PostgreSQL
 * database FerretDB stores into, when it runs on PostgreSQL (benches add indexes there, bench/ferretdb-pg.ts).
 * `ownProcessGroup` (`custos demo`) starts each server in its own process group: Ctrl-C in a terminal
 * signals the whole foreground group, and the servers must outlive the workers that are still closing
 * their connections; stop() ends them last.
 */
export async function startServices({ log = (m) => process.stderr.write(`services: ${m}\n`), dataDir, preferPostgres = false, ownProcessGroup = false } = {}) {
  const dir = dataDir ?? mkdtempSync(path.join(scratchRoot(), 'custos-svc-'));
  const started = [];
  const env = {};
  const stop = async () => {
    for (const s of started.reverse()) {
      if (s.child.exitCode === null && s.child.signalCode === null) {
        const gone = new Promise((r) => s.child.once('exit', r));
        s.child.kill('SIGTERM');
        const t = setTimeout(() => s.child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }
    }
    started.length = 0;
    for (const drop of postgresCleanups.splice(0)) drop();
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
    else { const r = await startRedis(dir, log, ownProcessGroup); started.push(r); env.REDIS_URL = r.url; }
    if (process.env.MONGODB_URI) {
      env.MONGODB_URI = process.env.MONGODB_URI;
      env.CUSTOS_MONGO_BACKEND = process.env.CUSTOS_MONGO_BACKEND ?? 'external';
    } else {
      const m = await startMongo(dir, log, preferPostgres, ownProcessGroup);
      started.push(m);
      env.MONGODB_URI = m.url;
      env.CUSTOS_MONGO_BACKEND = m.backend;
      if (m.pgDatabaseUrl) env.CUSTOS_FERRETDB_PG_DATABASE_URL = m.pgDatabaseUrl;
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, stop, dir };
}
