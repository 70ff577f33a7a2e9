// bench/stream: audit records per second delivered by the audit stream to a fake Splunk HEC WITH indexer
// acknowledgement (read from the database by seq range, sent in batches, each batch's ackId polled until
// indexed, the durable cursor advanced by compare-and-swap), next to the baseline: a raw HTTP POST of
// the very same HEC request bodies (same batches, same receiver, one request in flight, no reading from
// the database, no acknowledgement, no cursor), measured in the same run, before and after the stream.
// Then a live phase: records written at a steady pace while the stream runs; lag = indexed at the
// receiver minus stored in the chain, p99. Target (issue 20): ratio ≥ 0.5.
// A second figure says where the time goes: read_rate is a raw read of the same event documents from
// the database (one cursor over the seq index, nothing else; the first BENCH_STREAM_READ_SAMPLE of them,
// default 20,000, as at FerretDB's ~1,000 documents/s a full read of 200,000 would take most of the
// run), also in the same run; ratio_vs_read = rate / read_rate. The stream does not read those
// documents: it reads the chain writer's stream blocks (bot/store/audit-stream-blocks.ts), one document
// per written batch, which is what lets it go faster than read_rate.
// Last stdout line: {"bench":"stream","rate":…,"baseline_rate":…,"ratio":…,"lag_ms_p99":…,"read_rate":…,"ratio_vs_read":…}
import { randomBytes, randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { Agent, request } from 'undici';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { createLogger } from '../bot/logger.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { MongoStreamCursors } from '../bot/store/audit-stream-cursors.ts';
import { eventSource } from '../bot/store/audit-stream-source.ts';
import { ChainWriter } from '../workers/audit/chain-writer.ts';
import { hecBody } from '../workers/stream/splunk-hec.ts';
import { startStreamWorker } from '../workers/stream/worker.ts';
import { FakeSplunkHec } from '../test/fakes/splunk-hec.ts';
import { now, percentile, report, requireEnv, round } from './lib.ts';

const N = Number(process.env.BENCH_STREAM_EVENTS ?? 200_000);
const LIVE = Number(process.env.BENCH_STREAM_LIVE ?? Math.min(5000, N));
const BATCH = Number(process.env.BENCH_STREAM_BATCH ?? 1000);
const WINDOW = Number(process.env.BENCH_STREAM_WINDOW ?? 4);
const READ_SAMPLE = Math.min(N, Number(process.env.BENCH_STREAM_READ_SAMPLE ?? 20_000));
const TOKEN = randomUUID();
const CHANNEL = randomUUID();
const dbName = `bench_stream_${randomBytes(4).toString('hex')}`;
const key = randomBytes(32);
const logger = createLogger({ level: process.env.BENCH_LOG ?? 'warn' });

function event(i: number): AuditEventInput {
  return {
    v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
    actor: { employeeId: `E-${String(i % 50).padStart(4, '0')}`, platform: i % 2 ? 'slack' : 'lark', platformUserId: `U${i % 50}` },
    channelKind: 'dm', action: 'lookup', customerIds: [`C-${String(i % 5000).padStart(6, '0')}`],
    fields: [{ name: 'name', outcome: 'mask:name' }, { name: 'phone', outcome: 'mask:mobile' }, { name: 'tier', outcome: 'show' }],
    decision: 'allowed', ruleIds: ['sales-own', 'contact-masked'], correlationId: `req-${i}`, meta: { candidates: 1 },
  };
}

const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName, autoIndex: false }).asPromise();
const hec = new FakeSplunkHec({ token: TOKEN });
hec.keepEnvelopes = false;
await hec.start();
try {
  const models = await auditModels(conn);
  const writer = new ChainWriter(models, key, { now: () => new Date() }, 60_000);
  const t0 = now();
  for (let i = 0; i < N; i += 1000) await writer.write(Array.from({ length: Math.min(1000, N - i) }, (_, j) => event(i + j)));
  console.error(`chain of ${N} records written in ${round(now() - t0)} ms`);

  // The baseline's request bodies: the same HEC envelopes the sink sends, built before timing starts.
  const sinkSettings = { kind: 'splunk' as const, url: hec.url, token: TOKEN, channel: CHANNEL, index: undefined, ackTimeoutMs: 60_000 };
  const bodies: string[] = [];
  const source = eventSource(models);
  for (let after = 0; after < N; after += BATCH) {
    const items = await source.readAfter(after, BATCH);
    bodies.push(hecBody(items, undefined));
  }
  const agent = new Agent({ connections: 16 });
  const rawPost = async (): Promise<number> => {
    const t = now();
    for (const body of bodies) {
      const res = await request(`${hec.url}/services/collector/event`, { method: 'POST', dispatcher: agent, body, headers: { authorization: `Splunk ${TOKEN}`, 'x-splunk-request-channel': CHANNEL, 'content-type': 'application/json' } });
      if (res.statusCode !== 200) throw new Error(`raw post: ${res.statusCode}`);
      await res.body.dump();
    }
    return now() - t;
  };
  const before = await rawPost();
  const t2 = now();
  let read = 0;
  for await (const _ of models.events.collection.find({ seq: { $gt: 0 } }, { projection: { _id: 0 } }).hint({ seq: 1 }).batchSize(BATCH).limit(READ_SAMPLE)) read++;
  const readMs = now() - t2;
  if (read !== READ_SAMPLE) throw new Error(`raw read: ${read} of ${READ_SAMPLE}`);
  const indexedBefore = hec.indexed.length;

  // The stream: from an empty cursor to the end of the chain.
  const cursors = new MongoStreamCursors(conn);
  const t1 = now();
  const stream = await startStreamWorker(conn, { sinks: [sinkSettings], batchSize: BATCH, window: WINDOW, pollMs: 50, backoffMaxMs: 1000, lagAlert: 10 * N, anchorFile: undefined, anchorUrl: undefined }, logger);
  // Polled every 25 ms: more often would itself load the database the stream reads from.
  while ((await cursors.read('splunk')).seq < N) await new Promise((r) => setTimeout(r, 25));
  const streamMs = now() - t1;
  const after = await rawPost();
  console.error(`stream: ${N} records acknowledged in ${round(streamMs)} ms; raw post of the same bodies: ${round(before)} ms before, ${round(after)} ms after`);

  // Live: records written in small batches at a steady pace while the stream runs.
  const liveStart = hec.indexed.length;
  const storedAt = new Map<number, number>();
  for (let i = 0; i < LIVE; i += 100) {
    const res = await writer.write(Array.from({ length: Math.min(100, LIVE - i) }, (_, j) => event(N + i + j)));
    storedAt.set(res.lastSeq, Date.now());
    await new Promise((r) => setTimeout(r, 20));
  }
  while ((await cursors.read('splunk')).seq < N + LIVE) await new Promise((r) => setTimeout(r, 25));
  await stream.close();
  const stored = new Map<number, number>();
  const docs = await models.events.collection.find({ seq: { $gt: N } }, { projection: { seq: 1, storedAt: 1 } }).toArray();
  for (const d of docs) stored.set(Number(d.seq), (d.storedAt as Date).getTime());
  const lags: number[] = [];
  const seen = new Set<number>();
  for (let i = liveStart; i < hec.indexed.length; i++) {
    const seq = Number(hec.indexed[i]!.seq);
    if (seq <= N || seen.has(seq) || !stored.has(seq)) continue;
    seen.add(seq);
    lags.push(hec.indexedAt[i]! - stored.get(seq)!);
  }
  lags.sort((a, b) => a - b);
  const distinct = new Set(hec.indexed.slice(indexedBefore).map((e) => Number(e.seq))).size;
  if (distinct < N) throw new Error(`only ${distinct} of ${N} records indexed`);
  const rate = N / (streamMs / 1000);
  const baselineRate = N / (((before + after) / 2) / 1000);
  await agent.close();
  report({ bench: 'stream', rate: round(rate), baseline_rate: round(baselineRate), ratio: round(rate / baselineRate, 3), lag_ms_p99: round(percentile(lags, 99)), read_rate: round(READ_SAMPLE / (readMs / 1000)), ratio_vs_read: round(rate / (READ_SAMPLE / (readMs / 1000)), 3), events: N, batch: BATCH, window: WINDOW });
} finally {
  await hec.stop();
  await conn.dropDatabase().catch(() => undefined);
  await conn.close();
}
