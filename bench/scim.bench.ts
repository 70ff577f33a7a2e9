// `npm run bench -- scim`: provisioning through the SCIM endpoint against `custos import employees` of
// the same users, in the same run on the same server.
//
// 1. SCIM: the real services (buildServices: database, Redis, the fail-closed audit producer, the
//    offboarding service) and the real /scim/v2 route on the bot's HTTP server. N users are created
//    (POST /Users, Okta's shape with the enterprise department) and then deactivated the way Entra does
//    (PATCH Replace active "False"), CONCURRENCY requests in flight, as an IdP's provisioning run sends
//    them. Every deactivation runs the offboarding service inside the request; its latency is recorded.
// 2. Baseline: the same N users as an employee CSV imported with the real importer (all active), then the
//    same file with status offboarded (each row offboards through the same service), into a database of
//    its own on the same server.
// rate and baseline_rate are users per second over both phases (2N operations each).
// Last stdout line: {"bench":"scim","rate":…,"baseline_rate":…,"ratio":…,"deprovision_p99_ms":…}
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { employeeEffects } from '../bot/cli/commands/employee-effects.ts';
import { loadConfig } from '../bot/config.ts';
import { closeServer, createHttpServer, listen } from '../bot/http/server.ts';
import { createLogger } from '../bot/logger.ts';
import { buildServices } from '../bot/runtime/services.ts';
import { scimRoutes } from '../bot/scim/index.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { importFile } from '../bot/store/import.ts';
import { indexEqualityPushdown } from './ferretdb-pg.ts';
import { now, percentile, report, requireEnv, round } from './lib.ts';

const USERS = Number(process.env.BENCH_SCIM_USERS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_SCIM_CONCURRENCY ?? 8);
const TOKEN = randomBytes(32).toString('base64url');
const DEPARTMENTS = ['Sales', 'Marketing', 'Support', 'Finance'];
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const log = (msg: string) => process.stderr.write(`scim bench: ${msg}\n`);
const key = () => randomBytes(32).toString('base64');

/** The equality lookups both runs make (employee by id and e-mail, grants and pending requests of a user). */
const SHARED_KEYS: Record<string, string[]> = { employees: ['employeeId', 'email'], grants: ['granteeId'], access_requests: ['requesterId', 'status'] };
const SCIM_KEYS: Record<string, string[]> = { scim_users: ['userNameKey', 'employeeId', 'externalId', 'emailKeys'], scim_groups: ['members', 'displayNameKey'], scim_minted_ids: [] };

/**
 * On FerretDB-on-PostgreSQL: GIN indexes serving its equality pushdown (ferretdb-pg.ts), on the same keys
 * for both runs, so neither measures sequential scans. Does nothing on other backends.
 */
async function indexForPostgres(conn: mongoose.Connection, keys: Record<string, string[]>): Promise<void> {
  for (const [collection, fields] of Object.entries(keys)) {
    await conn.createCollection(collection).catch(() => undefined);
    if (fields.length && !indexEqualityPushdown(conn.name, collection, fields)) return;
  }
}

function user(i: number) {
  const userName = `bench.user${i}@bench.example`;
  return {
    schemas: [USER_SCHEMA, ENTERPRISE], userName, externalId: `ext-${i}`, active: true,
    name: { givenName: `Bench${i}`, familyName: 'User' }, displayName: `Bench${i} User`,
    emails: [{ primary: true, type: 'work', value: userName }],
    [ENTERPRISE]: { department: DEPARTMENTS[i % DEPARTMENTS.length], employeeNumber: String(100_000 + i) },
  };
}

/** Runs `task(i)` for i in 0..n-1 with `concurrency` in flight; returns each call's latency in ms. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = new Array<number>(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const t0 = now();
      await task(i);
      latencies[i] = now() - t0;
    }
  }));
  return latencies;
}

async function send(base: string, method: string, p: string, body: unknown, expect: number): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/scim/v2${p}`, {
    method, body: JSON.stringify(body),
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
  });
  const json = await res.json() as Record<string, unknown>;
  if (res.status !== expect) throw new Error(`scim bench: ${method} ${p} answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function scimRun(env: NodeJS.ProcessEnv): Promise<{ seconds: number; deprovisionMs: number[] }> {
  const config = loadConfig(env, { require: ['mongo', 'redis', 'crypto', 'audit'] });
  const logger = createLogger({ level: 'warn', name: 'scim-bench' });
  const services = await buildServices(config, logger, {}, () => ({ alert: async () => undefined }));
  const server = createHttpServer({ routes: await scimRoutes(services, config, logger), readiness: [], logger });
  try {
    await indexForPostgres(services.conn, { ...SHARED_KEYS, ...SCIM_KEYS });
    const address = await listen(server, '127.0.0.1', 0);
    const base = `http://127.0.0.1:${address.port}`;
    const ids: string[] = new Array<string>(USERS);
    const t0 = now();
    await pool(USERS, CONCURRENCY, async (i) => { ids[i] = (await send(base, 'POST', '/Users', user(i), 201)).id as string; });
    const created = (now() - t0) / 1000;
    log(`created ${USERS} users in ${round(created, 1)} s (${round(USERS / created, 0)}/s)`);
    const t1 = now();
    const deprovisionMs = await pool(USERS, CONCURRENCY, async (i) => {
      await send(base, 'PATCH', `/Users/${ids[i]}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }, 200);
    });
    const deactivated = (now() - t1) / 1000;
    log(`deactivated ${USERS} users in ${round(deactivated, 1)} s (${round(USERS / deactivated, 0)}/s)`);
    const offboarded = await services.conn.collection('employees').countDocuments({ status: 'offboarded' });
    if (offboarded !== USERS) throw new Error(`scim bench: expected ${USERS} offboarded employees, found ${offboarded}`);
    await services.conn.dropDatabase();
    return { seconds: created + deactivated, deprovisionMs };
  } finally {
    await closeServer(server);
    await services.close();
  }
}

function csv(file: string, status: 'active' | 'offboarded'): void {
  const rows = ['employeeId,email,name,department,roles,region,status'];
  for (let i = 0; i < USERS; i++) {
    const u = user(i);
    rows.push(`E-${100_000 + i},${u.userName},${u.displayName},${DEPARTMENTS[i % DEPARTMENTS.length]!.toLowerCase()},staff,east,${status}`);
  }
  writeFileSync(file, `${rows.join('\n')}\n`);
}

async function importRun(env: NodeJS.ProcessEnv, dbName: string): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-scim-'));
  const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName, autoIndex: false }).asPromise();
  const config = loadConfig(env, { require: ['crypto'] });
  const cipher = new FieldCipher(config.crypto!);
  const effects = employeeEffects(conn, env);
  try {
    const { ensureIndexes } = await import('../bot/store/db.ts');
    await ensureIndexes(conn);
    // Only the employees: the importer's own path creates the other collections when it first uses them.
    await indexForPostgres(conn, { employees: SHARED_KEYS.employees! });
    log('baseline: import database ready');
    const active = path.join(dir, 'active.csv');
    const leavers = path.join(dir, 'leavers.csv');
    csv(active, 'active');
    csv(leavers, 'offboarded');
    const t0 = now();
    const progress = (file: string) => ({ onProgress: (phase: string, rows: number) => log(`import ${file}: ${phase} ${rows} rows`), progressEveryMs: 10_000 });
    const first = await importFile(conn, cipher, 'employees', active, { employeeChanges: effects.handler, ...progress('active') });
    log(`imported ${first.inserted} active employees`);
    const second = await importFile(conn, cipher, 'employees', leavers, { employeeChanges: effects.handler, ...progress('leavers') });
    const seconds = (now() - t0) / 1000;
    if (first.inserted !== USERS || second.changes?.offboarded.length !== USERS) throw new Error(`scim bench: import did not create and offboard ${USERS} employees`);
    log(`import of ${USERS} users then their offboarding: ${round(seconds, 1)} s`);
    return seconds;
  } finally {
    await effects.close();
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const suffix = `${process.pid}`;
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'production', LOG_LEVEL: 'warn', MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: `bench_scim_${suffix}`, REDIS_URL: requireEnv('REDIS_URL'),
    CUSTOS_QUEUE_PREFIX: `bench-scim-${suffix}`, CUSTOS_DATA_KEYS: `k1:${key()}`, CUSTOS_BLIND_INDEX_KEY: key(), CUSTOS_AUDIT_HMAC_KEY: key(), CUSTOS_AUDIT_SIGNING_KEY: key(),
    CUSTOS_SCIM_TOKENS: TOKEN, CUSTOS_SCIM_RATE_PER_MINUTE: '100000', CUSTOS_SCIM_RATE_BURST: '100000', CUSTOS_SCIM_DEFAULT_DEPARTMENT: 'sales',
  };
  log(`${USERS} users, ${CONCURRENCY} requests in flight`);
  const scim = await scimRun(env);
  // Its own audit queue: the endpoint run left its events waiting (no worker runs in the bench).
  const baselineSeconds = await importRun({ ...env, CUSTOS_QUEUE_PREFIX: `bench-scim-import-${suffix}` }, `bench_scim_import_${suffix}`);
  const rate = (2 * USERS) / scim.seconds;
  const baselineRate = (2 * USERS) / baselineSeconds;
  const sorted = [...scim.deprovisionMs].sort((a, b) => a - b);
  report({
    bench: 'scim', users: USERS, rate: round(rate, 1), baseline_rate: round(baselineRate, 1), ratio: round(rate / baselineRate, 3),
    deprovision_p50_ms: round(percentile(sorted, 50), 1), deprovision_p99_ms: round(percentile(sorted, 99), 1),
  });
}

await main();
