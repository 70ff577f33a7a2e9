// The fail-closed audit producer: `record(event)` resolves only once Redis has accepted the BullMQ job
// holding it (its id derived from the event ids, so a retried record is one job). It has its own ioredis
// connection with no offline queue and few retries, and a short timeout around `queue.add`, so when Redis
// is down it rejects quickly with CustosError(AuditUnavailable) and the caller refuses to show data.
// A connection that was up and dropped (a Sentinel or Cluster failover: the client finds the promoted
// replica within seconds) is waited for, up to `reconnectWaitMs`, and the job offered again (the same
// jobId: one job however often it is offered) before the caller is refused. Still fail closed: nothing
// resolves before Redis accepted the job, and a Redis that never answered is not waited for.
// On a replicated Redis (Sentinel, Cluster) "accepted" also means copied: after the add, `WAIT` on the
// connection that wrote it until `minReplicas` replicas confirmed it (replica-wait.ts), else refused —
// a job the primary acknowledged and then lost in a failover would be a lookup shown without a record.
// Events recorded in one turn of the event loop travel as one job (a group): under load a bot records
// about three per turn (concurrent lookups' attempts and outcomes), and each job costs a BullMQ add, a
// fetch and a completion whatever it holds. Each `record` still resolves only once its group's job is
// accepted, and a group refused refuses every event in it.
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { createRedis, type RedisTarget } from '../store/redis-client.ts';
import { replicaWait, type ReplicaWaitSettings } from './replica-wait.ts';
import type { AuditEventInput, AuditRecorder } from '../core/audit.ts';
import { parseAuditEvent } from '../core/audit-event.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { Logger } from '../logger.ts';

export const AUDIT_QUEUE = 'audit';
export const AUDIT_JOB = 'audit.event';

/**
 * What travels in Redis: validated events only (ids, field names, HMACs — no customer values). `event`:
 * one event, as producers before groups wrote it (a queue may still hold such jobs after an upgrade).
 */
export type AuditJobData = { events: AuditEventInput[] } | { event: AuditEventInput };

/** The events a job carries, in either shape. */
export function eventsOfJob(data: AuditJobData): unknown[] {
  return 'events' in data && Array.isArray(data.events) ? data.events : [(data as { event: unknown }).event];
}

/** At most this many events in one job (a few KB each: a job stays small for Redis and the worker). */
export const GROUP_MAX = 64;

/**
 * A group's job id: a lone event keeps its own id (a retried record is one job, as before groups); a
 * group's is derived from all its event ids, so offering the same group again is one job, and a group
 * never shares an id with another that happens to start with the same event (a step's event id is
 * recorded by every process that attempts the step).
 */
export function groupJobId(events: readonly AuditEventInput[]): string {
  if (events.length === 1) return events[0]!.eventId;
  return `g-${createHash('sha256').update(events.map((e) => e.eventId).join(',')).digest('hex').slice(0, 40)}`;
}

export interface AuditProducerOptions {
  redis: RedisTarget;
  prefix: string;
  timeoutMs: number;
  /** How long `record` waits for a dropped connection to come back before refusing (0: not at all). */
  reconnectWaitMs?: number;
  /** Replicas that must confirm each job (Redis WAIT); default: the redis settings' (0 for a bare URL). */
  replicas?: ReplicaWaitSettings;
  logger?: Logger;
}

export interface AuditProducer extends AuditRecorder {
  /** Waits until the connection is up (at start-up); resolves false if it is not within `timeoutMs`. */
  ready(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Between offers of one event while the connection still looks up (see `record`). */
const RETRY_PAUSE_MS = 100;

export function createAuditProducer(opts: AuditProducerOptions): AuditProducer {
  const connection = createRedis(opts.redis, {
    enableOfflineQueue: false, // a command while disconnected fails at once instead of waiting
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(opts.timeoutMs, 200),
    // Keep reconnecting in the background, so recording resumes when Redis is back; at most 500 ms apart,
    // so a promoted replica is found soon after the failover (an attempt on a dead node costs nothing).
    retryStrategy: (times) => Math.min(100 * times, 500),
  }, { coalesce: false }); // one add per turn already: groups
  // Without a listener ioredis prints every connection error; log them once per state change instead.
  let lastError = '';
  connection.on('error', (err: NodeJS.ErrnoException) => {
    const code = err.code ?? err.name;
    if (code !== lastError) opts.logger?.warn({ code }, 'audit producer: redis connection error');
    lastError = code;
  });
  let wasReady = false;
  let lostAt: number | undefined;
  connection.on('close', () => { if (wasReady) lostAt ??= Date.now(); });
  connection.on('ready', () => {
    if (lostAt !== undefined) opts.logger?.info({ ms: Date.now() - lostAt }, 'audit producer: connection back');
    lastError = '';
    wasReady = true;
    lostAt = undefined;
  });
  const queue = new Queue<AuditJobData>(AUDIT_QUEUE, {
    connection,
    prefix: opts.prefix,
    // A completed job is deleted at once: its record is in MongoDB (unique eventId), and keeping a
    // completed history in Redis only costs memory and per-job trimming work.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: false },
  });
  queue.on('error', () => undefined); // surfaced through the rejected `record` instead
  const replicas = opts.replicas ?? replicaSettingsOf(opts.redis);
  const durable = replicaWait(connection, replicas);
  // The WAIT runs inside the same time limit as the add, which it extends by its own timeout.
  const limitMs = opts.timeoutMs + (replicas.minReplicas > 0 ? replicas.timeoutMs : 0);

  /** The group still taking events this turn, and its job's acceptance; sent from the turn's setImmediate. */
  let forming: { events: AuditEventInput[]; sent: Promise<void> } | null = null;

  async function record(input: AuditEventInput): Promise<void> {
    const event = parseAuditEvent(input);
    if (forming && forming.events.length < GROUP_MAX) {
      forming.events.push(event);
      return forming.sent;
    }
    const events = [event];
    const sent = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        if (forming?.events === events) forming = null;
        offer(events).then(resolve, reject);
      });
    });
    forming = { events, sent };
    return sent;
  }

  /** Offers one group until Redis accepts it, waiting out a dropped connection up to `reconnectWaitMs`. */
  async function offer(events: AuditEventInput[]): Promise<void> {
    const until = Date.now() + (opts.reconnectWaitMs ?? 0);
    for (;;) {
      try {
        return await enqueue(events);
      } catch (err) {
        const left = until - Date.now();
        if (!wasReady || left <= 0) throw err;
        // Still connected (a rejection such as READONLY from a demoted primary, or a timeout not yet seen
        // as a drop): pause before offering again, so a fast rejection is not retried in a tight loop.
        if (connection.status === 'ready') await new Promise((r) => setTimeout(r, Math.min(RETRY_PAUSE_MS, left)));
        else if (!(await ready(left))) throw err;
      }
    }
  }

  async function enqueue(events: AuditEventInput[]): Promise<void> {
    if (connection.status !== 'ready') {
      throw new CustosError(ErrorCode.AuditUnavailable, 'audit queue unavailable: redis is not connected', { status: connection.status });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CustosError(ErrorCode.AuditUnavailable, `audit queue unavailable: no answer within ${limitMs} ms`)), limitMs);
    });
    const jobId = groupJobId(events);
    const add = async () => {
      const pinned = durable.pin(queue.toKey(jobId));
      await queue.add(AUDIT_JOB, { events }, { jobId });
      await pinned.confirm();
    };
    try {
      await Promise.race([add(), timeout]);
    } catch (err) {
      if (err instanceof CustosError) throw err;
      // The SDK's message stays in the cause for operators; users only ever see the mapped sentence.
      throw new CustosError(ErrorCode.AuditUnavailable, 'audit queue unavailable: redis rejected the job', {}, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async function ready(timeoutMs = opts.timeoutMs): Promise<boolean> {
    if (connection.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => { clearTimeout(t); connection.off('ready', onReady); resolve(ok); };
      const onReady = () => done(true);
      const t = setTimeout(() => done(false), timeoutMs);
      connection.on('ready', onReady);
    });
  }

  async function close(): Promise<void> {
    await queue.close().catch(() => undefined);
    connection.disconnect();
  }

  return { record, ready, close };
}

/** The settings' replica requirement; a bare URL (tests, tools) asks for none. */
function replicaSettingsOf(target: RedisTarget): ReplicaWaitSettings {
  if (typeof target === 'string') return { minReplicas: 0, timeoutMs: 0 };
  return { minReplicas: target.minReplicas, timeoutMs: target.replicaWaitMs };
}
