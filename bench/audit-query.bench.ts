// bench/audit-query: the common admin audit queries over a large log — by actor over 7 days, by customer
// over all time, exports today — through the whole query service (policy check for `audit.query`,
// filter building, the audit event of the query itself accepted by the real BullMQ producer, the
// page read, page tokens), next to the same MongoDB finds (same filters, sort and limit; one per export
// action for "exports today", merged by seq as the service does) issued directly on the driver in the
// same run. Rounds alternate service / direct so machine load hits both alike.
// The log (BENCH_AUDIT_QUERY_EVENTS, default 1,000,000) is built in memory in batches, chained and
// MAC'd as the worker would, and inserted with insertMany; the time it took is printed before the result.
// On FerretDB 1.24 (PostgreSQL) only top-level equality reaches the database, so every query is shaped
// as one: "by customer" on `customerIds`, "by actor" on the top-level `actorId`, "exports today" one
// `action` equality per export action (with ferretdb-pg.ts's GIN indexes). FerretDB still fetches every
// record matching the equality and applies the time range, sort and limit itself, so "by actor" and
// "exports today" cost about the actor's / the export actions' share of the log (~1/29 and ~8%), not
// the whole log: measured 4.7 s and 9.3 s at 100,000 events on a machine at load 15. MongoDB (set
// MONGODB_URI) serves all three from the product's `field, seq` indexes.
// BENCH_AUDIT_QUERY_ROUNDS / _WARMUP set the measured and warm-up rounds.
// Last stdout line: {"bench":"audit-query","p95_ms":…,"baseline_p95_ms":…,"p95_ratio":…}
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { loadConfig } from '../bot/config.ts';
import { EXPORT_ACTIONS, localToUtc, type ParsedAuditFilter } from '../bot/core/audit-query.ts';
import { AuditQueryService, DEFAULT_AUDIT_PAGE_SIZE, type AuditAsker, type AuditFilter } from '../bot/core/audit-query-service.ts';
import { demoEmployees } from '../bot/store/demo-company.ts';
import { createLogger } from '../bot/logger.ts';
import { createAuditProducer } from '../bot/queue/audit-producer.ts';
import { actorIdSince } from '../bot/store/audit-actor-index.ts';
import { auditModels, AUDIT_EVENTS_COLLECTION } from '../bot/store/audit-model.ts';
import { auditMongoFilters, MongoAuditLogReader, nearestRows } from '../bot/store/audit-query-store.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { buildAuditLog } from '../test/helpers/audit-log-fixture.ts';
import { indexEqualityPushdown } from './ferretdb-pg.ts';
import { now, percentile, report, requireEnv, round } from './lib.ts';

const EVENTS = Number(process.env.BENCH_AUDIT_QUERY_EVENTS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_AUDIT_QUERY_ROUNDS ?? 30);
const WARMUP = Number(process.env.BENCH_AUDIT_QUERY_WARMUP ?? 2);
/** 0: leave FerretDB-on-PostgreSQL without the GIN indexes its pushdown can use (see ferretdb-pg.ts). */
const PG_GIN = process.env.BENCH_PG_GIN !== '0';
const tag = randomBytes(4).toString('hex');
const dbName = `bench_auditq_${tag}`;
const prefix = `bench_auditq_${tag}`;
const key = () => randomBytes(32).toString('base64');
const config = loadConfig({
  MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: dbName, REDIS_URL: requireEnv('REDIS_URL'), CUSTOS_QUEUE_PREFIX: prefix,
  CUSTOS_AUDIT_HMAC_KEY: key(), CUSTOS_AUDIT_SIGNING_KEY: key(),
}, { require: ['mongo', 'redis', 'audit'] });

const staff = demoEmployees();
const end = new Date();
const conn = await mongoose.createConnection(config.mongo!.uri, { dbName, autoIndex: false }).asPromise();
const producer = createAuditProducer({ redis: config.redis!, prefix, timeoutMs: 2000, logger: createLogger({ level: 'warn' }) });
try {
  // Insert first, index after: one index build is cheaper than maintaining eleven per insert.
  const t0 = now();
  await buildAuditLog({ events: { collection: conn.collection(AUDIT_EVENTS_COLLECTION), db: conn } } as never, {
    events: EVENTS, end, spanDays: 90, actors: Object.values(staff).map((e) => e.employeeId), customers: 20_000,
    signingKey: config.audit!.signingKey, seed: 'bench', keep: false, batch: 10_000,
  });
  const built = now();
  const models = await auditModels(conn);
  // Both the service and the direct query read through these (see ferretdb-pg.ts); without them FerretDB
  // on PostgreSQL scans the million rows for every query.
  const gin = PG_GIN && indexEqualityPushdown(dbName, AUDIT_EVENTS_COLLECTION, ['actorId', 'customerIds', 'action']);
  const indexed = now();
  process.stdout.write(`audit-query: built ${EVENTS} chained events in ${round((built - t0) / 1000, 1)} s, indexes in ${round((indexed - built) / 1000, 1)} s${gin ? ' (with GIN indexes for FerretDB pushdown)' : ''}\n`);

  const directory = new EmployeeStore(conn);
  await directory.upsertMany(Object.values(staff));
  if (!(await producer.ready(5000))) throw new Error('audit queue not reachable');
  const service = new AuditQueryService({
    engine: createPolicyEngine(loadPolicy(config.policyDir)), log: new MongoAuditLogReader(models), directory,
    recorder: producer, clock: { now: () => new Date() }, queryHmacKey: config.audit!.hmacKey,
  });
  const asker: AuditAsker = { employee: staff.auditor, platform: 'slack', platformUserId: 'U2', channel: 'dm' };
  const today = (() => {
    const d = new Intl.DateTimeFormat('en-CA', { timeZone: staff.auditor.timezone }).format(end).split('-').map(Number);
    return localToUtc(staff.auditor.timezone, d[0]!, d[1]!, d[2]!, 0, 0);
  })();
  const since7d = new Date(end.getTime() - 7 * 86_400_000);
  const queries: { name: string; parsed: ParsedAuditFilter; direct: AuditFilter }[] = [
    { name: 'by actor, 7 days', parsed: { actor: { kind: 'employeeId', employeeId: staff.salesRep.employeeId }, from: since7d }, direct: { actorId: staff.salesRep.employeeId, from: since7d } },
    { name: 'by customer, all time', parsed: { customerId: 'C-000123' }, direct: { customerId: 'C-000123' } },
    { name: 'exports today', parsed: { actions: EXPORT_ACTIONS, from: today }, direct: { actions: EXPORT_ACTIONS, from: today } },
  ];
  const events = models.events.collection;
  const since = await actorIdSince(conn);
  const ours: number[] = [];
  const direct: number[] = [];
  const perQuery = new Map<string, { ours: number[]; direct: number[] }>(queries.map((q) => [q.name, { ours: [], direct: [] }]));
  for (let r = 0; r < ROUNDS + WARMUP; r++) {
    for (const q of queries) {
      const a = now();
      await service.query(asker, q.parsed, 'bench', q.name);
      const b = now();
      // The same finds the service issues (one per action for "exports today"), merged the same way.
      nearestRows(await Promise.all(auditMongoFilters(q.direct, null, since)
        .map((f) => events.find(f).sort({ seq: -1 }).limit(DEFAULT_AUDIT_PAGE_SIZE).toArray())), false, DEFAULT_AUDIT_PAGE_SIZE);
      const c = now();
      if (r < WARMUP) continue;
      ours.push(b - a); direct.push(c - b);
      perQuery.get(q.name)!.ours.push(b - a); perQuery.get(q.name)!.direct.push(c - b);
    }
  }
  const p95 = (xs: number[]) => percentile([...xs].sort((x, y) => x - y), 95);
  for (const [name, m] of perQuery) process.stdout.write(`audit-query: ${name}: p95 ${round(p95(m.ours))} ms (direct ${round(p95(m.direct))} ms)\n`);
  const p = p95(ours);
  const base = p95(direct);
  report({ bench: 'audit-query', p95_ms: round(p), baseline_p95_ms: round(base), p95_ratio: round(p / base), events: EVENTS, rounds: ROUNDS, pg_gin_indexes: gin });
} finally {
  await producer.close().catch(() => undefined);
  await conn.dropDatabase().catch(() => undefined);
  await conn.close();
  const { dropPrefix } = await import('../test/helpers/services.ts');
  await dropPrefix(prefix).catch(() => undefined);
}
