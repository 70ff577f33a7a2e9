// Prometheus metrics (prom-client) served on the bot's HTTP port at /metrics.
// Two kinds of series:
//  - per-process counters / histograms (lookups by decision, command latency): Prometheus sums them over
//    replicas. Lookups are counted at the audit-recorder seam, so every adapter (Slack, playground) is
//    counted the same way and a lookup counts only once its audit event was accepted.
//  - gauges read at scrape time from the shared stores (approvals, grants, frozen employees, queue depth,
//    audit lag). They are the same on every replica, so dashboards should use max(), not sum().
//    Approval counts come from the audit log itself (request.create vs its terminal events), which is
//    durable and written exactly once per event, so they survive restarts and agree across replicas.
import { Queue } from 'bullmq';
import { createRedis } from './store/redis-client.ts';
import type { RedisSettings } from './config-redis.ts';
import type { Connection } from 'mongoose';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEventInput, AuditRecorder } from './core/audit.ts';
import type { Clock } from './core/ports.ts';
import type { Route } from './http/server.ts';
import { AUDIT_QUEUE } from './queue/audit-producer.ts';
import { AUDIT_EVENTS_COLLECTION } from './store/audit-model.ts';
import { AUDIT_STREAM_CURSORS_COLLECTION } from './store/audit-stream-cursors.ts';
import { GRANT_COLLECTION, REVOCATION_COLLECTION } from './store/grant-store.ts';
import { EMPLOYEE_COLLECTION } from './store/models.ts';
import { SYNC_STATUS_COLLECTION } from './sync/sync-store.ts';

export const METRICS_PATH = '/metrics';

/** Audit actions that end an access request, by the decision label they carry in the metrics. */
const REQUEST_OUTCOMES = { 'request.approve': 'approved', 'request.deny': 'denied', 'request.expire': 'expired', 'request.cancel': 'cancelled' } as const;

export interface MetricsOptions {
  conn: Connection;
  redis: RedisSettings;
  clock: Clock;
}

export interface Metrics {
  registry: Registry;
  /** Counts lookups (and refusals) by decision once their audit event is accepted. */
  wrapRecorder<R extends AuditRecorder>(recorder: R): R;
  /** Observes how long one user command took, end to end, in seconds. */
  observeCommand(platform: string, command: string, seconds: number): void;
  route: Route;
  close(): Promise<void>;
}

/** The part of the metrics a chat adapter needs to time its commands. */
export type CommandObserver = Pick<Metrics, 'observeCommand'>;

/**
 * Starts timing one user command (labels as the playground uses: lookup, pick, share, help, usage,
 * audit); call the result with the command's label once its reply was sent or failed.
 */
export function commandTimer(observer: CommandObserver | undefined, platform: string): (command: string) => void {
  const started = process.hrtime.bigint();
  return (command) => observer?.observeCommand(platform, command, Number(process.hrtime.bigint() - started) / 1e9);
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'custos_' });
  const lookups = new Counter({
    name: 'custos_lookups_total', help: 'Customer lookups whose audit event was accepted, by decision (allowed / denied)',
    labelNames: ['decision'] as const, registers: [registry],
  });
  const shares = new Counter({
    name: 'custos_shares_total', help: 'Share-in-channel requests whose audit event was accepted, by decision',
    labelNames: ['decision'] as const, registers: [registry],
  });
  const latency = new Histogram({
    name: 'custos_command_duration_seconds', help: 'Time from receiving a user command to its reply being ready, by platform and command',
    labelNames: ['platform', 'command'] as const, registers: [registry],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  // Metrics read the queue through their own connection: scraping must never disturb the producer's.
  const queueConn = createRedis(opts.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, lazyConnect: false });
  queueConn.on('error', () => undefined); // a failed scrape shows as missing series, /readyz names the failure
  const queue = new Queue(AUDIT_QUEUE, { connection: queueConn, prefix: opts.redis.queuePrefix });
  queue.on('error', () => undefined);
  const db = () => opts.conn.db!;

  liveGauge(registry, 'custos_audit_queue_depth', 'Audit events in the queue, by state (waiting, active, delayed, failed)', ['state'], async (g) => {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    for (const [state, n] of Object.entries(counts)) g.set({ state }, n);
  });
  liveGauge(registry, 'custos_audit_oldest_pending_seconds', 'Age of the oldest audit event not yet stored (0 when the queue is empty)', [], async (g) => {
    const [oldest] = await queue.getJobs(['waiting', 'active', 'delayed'], 0, 0, true);
    g.set(oldest ? Math.max(0, (opts.clock.now().getTime() - oldest.timestamp) / 1000) : 0);
  });
  liveGauge(registry, 'custos_audit_lag_seconds', 'Time from event to stored for the most recently stored audit record', [], async (g) => {
    const last = await db().collection(AUDIT_EVENTS_COLLECTION).find({}, { projection: { occurredAt: 1, storedAt: 1 } }).sort({ seq: -1 }).limit(1).next();
    if (last?.storedAt instanceof Date && last.occurredAt instanceof Date) g.set((last.storedAt.getTime() - last.occurredAt.getTime()) / 1000);
  });
  liveGauge(registry, 'custos_audit_stream_lag', 'Audit records not yet confirmed by each SIEM sink of the audit stream (chain end minus the sink\'s cursor)', ['sink'], async (g) => {
    const last = await db().collection(AUDIT_EVENTS_COLLECTION).find({}, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).next();
    const end = last ? Number(last.seq) : 0;
    // Event cursors only (keyed by the sink's name); the checkpoint lanes are `<sink>:checkpoints`.
    for (const c of await db().collection(AUDIT_STREAM_CURSORS_COLLECTION).find({}, { projection: { seq: 1 } }).toArray()) {
      const key = String(c._id);
      if (!key.includes(':')) g.set({ sink: key }, Math.max(0, end - Number(c.seq)));
    }
  });
  liveGauge(registry, 'custos_approvals_pending', 'Access requests created and not yet approved, denied, expired or cancelled (from the audit log)', [], async (g) => {
    const events = db().collection(AUDIT_EVENTS_COLLECTION);
    const created = await events.countDocuments({ action: 'request.create' });
    const ended = await events.countDocuments({ action: { $in: Object.keys(REQUEST_OUTCOMES) } });
    g.set(Math.max(0, created - ended));
  });
  liveGauge(registry, 'custos_approvals_decided', 'Access requests that reached an outcome, by decision (from the audit log)', ['decision'], async (g) => {
    const events = db().collection(AUDIT_EVENTS_COLLECTION);
    for (const [action, decision] of Object.entries(REQUEST_OUTCOMES)) g.set({ decision }, await events.countDocuments({ action }));
  });
  liveGauge(registry, 'custos_grants_active', 'Temporary access grants neither expired nor revoked', [], async (g) => {
    const live = await db().collection(GRANT_COLLECTION)
      .find({ expiresAt: { $gt: opts.clock.now() }, revokedAt: { $exists: false } }, { projection: { grantId: 1 } }).toArray();
    const ids = live.map((d) => String(d.grantId));
    // Revocation is exactly-once through its own collection (grant-store.ts); it may precede the flag.
    const revoked = ids.length === 0 ? 0 : await db().collection(REVOCATION_COLLECTION).countDocuments({ grantId: { $in: ids } });
    g.set(ids.length - revoked);
  });
  liveGauge(registry, 'custos_employees_frozen', 'Employees whose access is frozen right now', [], async (g) => {
    g.set(await db().collection(EMPLOYEE_COLLECTION).countDocuments({ status: 'frozen' }));
  });
  liveGauge(registry, 'custos_freezes', 'Freezes ever recorded in the audit log (admin.freeze events)', [], async (g) => {
    g.set(await db().collection(AUDIT_EVENTS_COLLECTION).countDocuments({ action: 'admin.freeze' }));
  });

  // CRM sync (bot/sync): read from each source's status document, written after every run.
  const syncRows = async () => db().collection(SYNC_STATUS_COLLECTION).find({}).toArray();
  liveGauge(registry, 'custos_sync_lag_seconds', 'Seconds since each CRM sync source last ran without error (never synced: since its first failed run)', ['source'], async (g) => {
    const now = opts.clock.now().getTime();
    for (const r of await syncRows()) {
      const since = (r.lastSuccessAt ?? r.lastRunAt) as Date | undefined;
      if (since) g.set({ source: String(r._id) }, Math.max(0, (now - new Date(since).getTime()) / 1000));
    }
  });
  liveGauge(registry, 'custos_sync_records_total', 'Records a CRM sync source applied, by operation (upserted, unchanged, deleted, rejected)', ['source', 'op'], async (g) => {
    for (const r of await syncRows()) {
      for (const op of ['upserted', 'unchanged', 'deleted', 'rejected'] as const) g.set({ source: String(r._id), op }, Number((r.counts as Record<string, number> | undefined)?.[op] ?? 0));
    }
  });
  liveGauge(registry, 'custos_sync_errors_total', 'Failed runs of each CRM sync source', ['source'], async (g) => {
    for (const r of await syncRows()) g.set({ source: String(r._id) }, Number(r.errors ?? 0));
  });

  const count = (event: AuditEventInput) => {
    const stage = event.meta?.stage;
    if (event.action === 'lookup' && stage === 'query') lookups.inc({ decision: event.decision });
    else if (event.action === 'share' && stage === 'query') shares.inc({ decision: event.decision });
    else if (event.action === 'lookup.refused') (event.meta?.refused === 'share' ? shares : lookups).inc({ decision: 'denied' });
  };

  return {
    registry,
    wrapRecorder<R extends AuditRecorder>(recorder: R): R {
      const wrapped = Object.create(recorder) as R;
      wrapped.record = async (event) => { await recorder.record(event); count(event); };
      return wrapped;
    },
    observeCommand: (platform, command, seconds) => latency.observe({ platform, command }, seconds),
    route: {
      method: 'GET', path: METRICS_PATH,
      handler: async (_req, res) => {
        // A failing collector (database or Redis down) drops its series; the rest are still served.
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      },
    },
    async close() {
      await queue.close().catch(() => undefined);
      queueConn.disconnect();
    },
  };
}

/**
 * A gauge read from a store at scrape time. A failing read (database or Redis down) reports "unknown"
 * for that scrape instead of failing the whole /metrics answer.
 */
function liveGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], read: (g: Gauge<L>) => Promise<void>): void {
  new Gauge<L>({
    name, help, labelNames, registers: [registry],
    async collect() {
      try {
        await read(this);
      } catch {
        // Labelled series disappear; a label-less gauge always prints, so it says NaN ("unknown").
        this.reset();
        if (labelNames.length === 0) this.set(NaN);
      }
    },
  });
}
