// The audit stream worker (`custos start --only stream`): for every configured sink, one follower for
// the event chain and one for the signed checkpoints; for each anchor (file, URL), one follower for the
// checkpoints. Followers run independently: a sink that is down only grows its own lag, retried with
// exponential back-off, and catches up in order when it is back. Past CUSTOS_STREAM_LAG_ALERT records
// behind, the sink's lag is reported as an error log line (and in custos_audit_stream_lag{sink}) and as
// a message to the security channel, once per crossing; going back under the threshold sends a
// recovery message. The crossing is remembered per process: a restart while a sink is still behind
// tells the channel again (better twice than never).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from 'mongoose';
import type { StreamSettings, StreamSinkSettings } from '../../bot/config-stream.ts';
import type { Locale } from '../../bot/core/messages.ts';
import { settleWithin } from '../../bot/core/settle.ts';
import { streamLagView, type SecurityNotices } from '../../bot/core/security/notices.ts';
import type { Logger } from '../../bot/logger.ts';
import { auditModels, type AuditModels } from '../../bot/store/audit-model.ts';
import { MongoStreamCursors } from '../../bot/store/audit-stream-cursors.ts';
import { chainEnd, checkpointSource, eventSource, prefetching } from '../../bot/store/audit-stream-source.ts';
import { AnchorFileSink, AnchorUrlSink } from './anchors.ts';
import { Follower, type SinkPort } from './follower.ts';
import { SinkError, type StreamItem } from './items.ts';
import { OtlpLogsSink } from './otlp.ts';
import { SplunkHecSink } from './splunk-hec.ts';
import { SyslogSink } from './syslog.ts';

const LAG_CHECK_MS = 5000;
/** Confirmed event batches the durable cursor may trail by (follower.ts: one write per several batches). */
const COMMIT_EVERY = 4;

type Sink = SinkPort<StreamItem> & { close?(): Promise<void> };

export interface RunningStream { close(): Promise<void> }

function sinkFor(s: StreamSinkSettings): { sink: Sink; rewind: number } {
  if (s.kind === 'splunk') return { sink: new SplunkHecSink(s), rewind: 0 };
  if (s.kind === 'syslog') return { sink: new SyslogSink(s), rewind: s.replay };
  return { sink: new OtlpLogsSink(s), rewind: 0 };
}

interface Lane { key: string; follower: Follower<StreamItem>; events: boolean }

/** Where lag alerts go besides the log: the security channel (bot/runtime/security-notices.ts). */
export interface StreamAlerting { notices: SecurityNotices; locale: Locale; now?: () => Date }

export async function startStreamWorker(conn: Connection, settings: StreamSettings, logger: Logger, alerting?: StreamAlerting | null): Promise<RunningStream> {
  const models: AuditModels = await auditModels(conn);
  const cursors = new MongoStreamCursors(conn);
  const sinks: Sink[] = [];
  const lanes: Lane[] = [];
  const lane = (sink: Sink, key: string, events: boolean, rewind: number) => {
    const source = events ? prefetching(eventSource(models)) : checkpointSource(models);
    lanes.push({ key, events, follower: new Follower(cursors, source, sink, { cursorKey: key, batchSize: events ? settings.batchSize : 100, window: events ? settings.window : 1, rewind, commitEvery: events ? COMMIT_EVERY : 1 }) });
  };
  // A sink per lane: the events and the checkpoints of one sink must not share a connection, or the lane
  // that notices a lost syslog connection first resends, and the other reconnects without resending.
  for (const s of settings.sinks) {
    const events = sinkFor(s);
    const checkpoints = sinkFor(s);
    sinks.push(events.sink, checkpoints.sink);
    lane(events.sink, s.kind, true, events.rewind);
    lane(checkpoints.sink, `${s.kind}:checkpoints`, false, checkpoints.rewind > 0 ? 10 : 0);
  }
  if (settings.anchorFile) { const sink = new AnchorFileSink(settings.anchorFile); sinks.push(sink); lane(sink, 'anchor-file:checkpoints', false, 0); }
  if (settings.anchorUrl) { const sink = new AnchorUrlSink(settings.anchorUrl); sinks.push(sink); lane(sink, 'anchor-url:checkpoints', false, 0); }

  const alertingTo = alerting ?? null;
  let knownEnd = 0; // the chain's end as last found: the next check probes on from there
  let stopping = false;
  const wake = new AbortController();

  async function run(l: Lane): Promise<void> {
    const log = logger.child({ sink: l.key });
    let failures = 0;
    let alerting = false;
    let lagCheckedAt = 0;
    while (!stopping) {
      let moved = false;
      try {
        moved = await l.follower.step();
        if (failures > 0) log.info({ failures, seq: l.follower.position?.seq }, 'audit stream: sink reachable again; catching up');
        failures = 0;
      } catch (err) {
        failures++;
        const retryable = !(err instanceof SinkError) || err.retryable;
        log.warn({ err: { type: (err as Error).name, message: (err as Error).message }, failures, retryable }, 'audit stream: delivery failed; retrying from the cursor');
      }
      // At most every 5 s: the first check sorts (FerretDB scans), later ones probe on from the last end.
      if (l.events && (!moved || failures > 0) && Date.now() - lagCheckedAt >= LAG_CHECK_MS) {
        lagCheckedAt = Date.now();
        alerting = await checkLag(l, log, alerting);
      }
      if (stopping) break;
      const wait = failures > 0 ? Math.min(settings.backoffMaxMs, 200 * 2 ** Math.min(failures - 1, 20)) : moved ? 0 : settings.pollMs;
      if (wait > 0) await sleep(wait, undefined, { signal: wake.signal }).catch(() => undefined);
    }
  }

  async function checkLag(l: Lane, log: Logger, alerting: boolean): Promise<boolean> {
    try {
      // The follower's own position is stored too: a first check after a catch-up probes, not sorts.
      knownEnd = await chainEnd(models, Math.max(knownEnd, l.follower.position?.seq ?? 0));
      const lag = knownEnd - (await cursors.read(l.key)).seq;
      const crossed = lag > settings.lagAlert !== alerting;
      if (lag > settings.lagAlert && !alerting) log.error({ lag, threshold: settings.lagAlert }, 'audit stream: ALERT sink lag past CUSTOS_STREAM_LAG_ALERT');
      if (lag <= settings.lagAlert && alerting) log.info({ lag }, 'audit stream: sink lag back under the threshold');
      if (crossed) await tellChannel(l.key, lag, !(lag > settings.lagAlert), log);
      return lag > settings.lagAlert;
    } catch {
      return alerting;
    }
  }

  /** Only a crossing is told (the caller keeps the state); a failed post is logged, never retried per tick. */
  async function tellChannel(sink: string, lag: number, recovered: boolean, log: Logger): Promise<void> {
    if (!alertingTo) return;
    const at = (alertingTo.now ?? (() => new Date()))();
    await alertingTo.notices.notice(streamLagView({ sink, lag, threshold: settings.lagAlert, recovered, at }, alertingTo.locale))
      .catch((err: Error) => log.warn({ err: { type: err.name } }, 'audit stream: lag message to the security channel failed'));
  }

  for (const l of lanes) await cursors.register(l.key);
  const running = lanes.map(run);
  logger.info({ lanes: lanes.map((l) => l.key) }, 'audit stream started');
  return {
    async close() {
      stopping = true;
      wake.abort();
      await settleWithin(Promise.all(running), 10_000); // its timer cleared: no 10 s left holding the process open
      for (const s of sinks) await s.close?.().catch(() => undefined);
      logger.info('audit stream stopped');
    },
  };
}
