// The audit stream end to end, on FerretDB with the real chain writer, against fake Splunk HEC (with
// indexer acknowledgement), syslog (TCP and TLS) and OTLP receivers: every record arrives at every sink,
// in order, each at least once and de-duplicable by seq, and the chain verifies from each receiver's
// copy alone; sinks killed and restarted at random points while events flow; the stream worker
// SIGKILLed mid-flow and restarted; anchors catch a database rewritten together with its checkpoints.
import { standaloneSettings } from '../bot/config-redis.ts';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { chainHash, checkpointSignature, newEventId, recordMac, type AuditCheckpoint } from '../bot/core/audit-event.ts';
import { parseAnchors } from '../bot/core/audit-anchors.ts';
import { verifyReceivedChain, type StreamRecord } from '../bot/core/audit-stream-record.ts';
import type { StreamSettings, StreamSinkSettings } from '../bot/config-stream.ts';
import { createLogger } from '../bot/logger.ts';
import { Prng } from '../bot/store/prng.ts';
import { createMetrics } from '../bot/metrics.ts';
import { systemClock } from '../bot/core/ports.ts';
import { auditModels, type AuditModels } from '../bot/store/audit-model.ts';
import { verifyStoredChain } from '../bot/store/audit-chain-check.ts';
import { allCheckpoints } from '../bot/store/audit-store.ts';
import { MongoStreamCursors } from '../bot/store/audit-stream-cursors.ts';
import { ChainWriter } from '../workers/audit/chain-writer.ts';
import { writeCheckpoint } from '../workers/audit/checkpoints.ts';
import { startStreamWorker, type RunningStream } from '../workers/stream/worker.ts';
import { FakeSplunkHec } from './fakes/splunk-hec.ts';
import { FakeSyslogReceiver } from './fakes/syslog-receiver.ts';
import { FakeOtlpReceiver } from './fakes/otlp-receiver.ts';
import { entryArgs, root, runCli } from './helpers/run-custos.ts';
import { randomKey, requireEnv, testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const TOKEN = '5e2f6a1c-7d3b-4c8e-9f10-2a3b4c5d6e7f';
const CHANNEL = 'c0ffee00-1234-4abc-8def-0123456789ab';
const logger = createLogger({ level: 'silent' });

function makeEvent(i: number): AuditEventInput {
  return {
    v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
    actor: { employeeId: 'E-0007', platform: 'slack' }, channelKind: 'dm', action: 'lookup',
    customerIds: [`C-${String(i).padStart(6, '0')}`], fields: [{ name: 'email', outcome: 'mask:email' }],
    decision: 'allowed', ruleIds: ['support-tickets'], meta: { i },
  };
}

interface Chain { models: AuditModels; key: Buffer; written: number; write(n: number): Promise<void>; drop(): Promise<void>; conn: Awaited<ReturnType<typeof testDatabase>>['conn']; name: string }

/** A fresh database with the real chain writer; `write(n)` appends n events and a checkpoint. */
async function chain(tag: string, key = Buffer.from(randomKey(), 'base64')): Promise<Chain> {
  const db = await testDatabase(`${import.meta.url}-${tag}`);
  const models = await auditModels(db.conn);
  const writer = new ChainWriter(models, key, systemClock, 60_000);
  const c: Chain = {
    models, key, written: 0, conn: db.conn, name: db.name, drop: db.drop,
    async write(n) {
      for (let done = 0; done < n; done += 50) {
        await writer.write(Array.from({ length: Math.min(50, n - done) }, (_, i) => makeEvent(c.written + done + i)));
      }
      c.written += n;
      await writeCheckpoint(models, key, systemClock, { onlyIfAdvanced: true, knownTail: writer.knownTail() });
    },
  };
  return c;
}

function settings(sinks: StreamSinkSettings[], extra: Partial<StreamSettings> = {}): StreamSettings {
  return { sinks, batchSize: 40, window: 3, pollMs: 30, backoffMaxMs: 200, lagAlert: 10_000, anchorFile: undefined, anchorUrl: undefined, ...extra };
}

const hecSettings = (hec: FakeSplunkHec): StreamSinkSettings => ({ kind: 'splunk', url: hec.url, token: TOKEN, channel: CHANNEL, index: undefined, ackTimeoutMs: 500 });

/** The records a receiver got, in arrival order. */
const fromHec = (hec: FakeSplunkHec) => hec.indexed.filter((e) => 'eventId' in e) as StreamRecord[];
const fromSyslog = (s: FakeSyslogReceiver) => s.messages.filter((m) => m.msgId === 'AUDIT').map((m) => JSON.parse(m.msg) as StreamRecord);
const fromOtlp = (o: FakeOtlpReceiver) => o.records.filter((r) => r.attributes.some((a) => a.key === 'custos.kind' && a.value.stringValue === 'event'))
  .map((r) => JSON.parse(r.body.stringValue) as StreamRecord);
const distinctSeqs = (rs: StreamRecord[]) => new Set(rs.map((r) => r.seq)).size;

/**
 * Every seq 1..n arrived, and the receiver's copy verifies on its own. `inOrder`: first arrivals in seq
 * order. Not for Splunk with batches in flight at once (CUSTOS_STREAM_WINDOW > 1): when the indexer
 * loses batch k but indexed k+1, k arrives again after k+1 (each batch is in order, and seq restores
 * the order; the cursor never passed k).
 */
function assertComplete(t: ExecutionContext, what: string, received: StreamRecord[], n: number, inOrder = true): void {
  const firstArrival: number[] = [];
  const seen = new Set<number>();
  for (const r of received) if (!seen.has(r.seq)) { seen.add(r.seq); firstArrival.push(r.seq); }
  if (!inOrder) firstArrival.sort((a, b) => a - b);
  const expected = Array.from({ length: n }, (_, i) => i + 1);
  const firstOff = firstArrival.findIndex((s, i) => s !== expected[i]);
  t.true(firstOff === -1 && firstArrival.length === n, `${what}: ${firstArrival.length} of ${n} arrived: every seq once, first arrivals in order; first difference at position ${firstOff}: ${JSON.stringify(firstArrival.slice(Math.max(0, firstOff - 3), firstOff + 5))}`);
  const v = verifyReceivedChain(received);
  t.true(v.ok, `${what}: ${JSON.stringify(v.problem)}`);
  t.is(v.events, n);
}

function tlsCert(): { key: Buffer; cert: Buffer; certFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-syslog-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

test.serial('every record reaches Splunk HEC (acknowledged), syslog over TLS and OTLP, in order, once each after de-duplication, verifiable from each copy; checkpoints too; the anchor file verifies', async (t) => {
  const c = await chain('all');
  t.teardown(c.drop);
  const hec = new FakeSplunkHec({ token: TOKEN });
  const { key, cert, certFile } = tlsCert();
  const syslog = new FakeSyslogReceiver({ tls: { key, cert } });
  const otlp = new FakeOtlpReceiver();
  await Promise.all([hec.start(), syslog.start(), otlp.start()]);
  t.teardown(async () => { await hec.stop(); await syslog.stop(); await otlp.stop(); });
  const anchorFile = path.join(mkdtempSync(path.join(tmpdir(), 'custos-anchors-')), 'anchors.jsonl');

  await c.write(150);
  const stream = await startStreamWorker(c.conn, settings([
    hecSettings(hec),
    { kind: 'syslog', host: '127.0.0.1', port: syslog.port, tls: true, caFile: certFile, replay: 100, hostname: 'custos-test' },
    { kind: 'otlp', url: otlp.url, headers: {} },
  ], { anchorFile }), logger);
  t.teardown(() => stream.close());
  await c.write(100); // more while it runs
  const n = c.written;
  await hec.until(() => distinctSeqs(fromHec(hec)) >= n, 30_000, 'all records indexed');
  await syslog.until(() => distinctSeqs(fromSyslog(syslog)) >= n, 30_000, 'all records');
  await otlp.until(() => distinctSeqs(fromOtlp(otlp)) >= n, 30_000, 'all records');
  assertComplete(t, 'splunk', fromHec(hec), n);
  assertComplete(t, 'syslog', fromSyslog(syslog), n);
  assertComplete(t, 'otlp', fromOtlp(otlp), n);

  // What each SIEM sees around a record: HEC's sourcetype and indexed seq; syslog's facility, SD and BOM'd JSON.
  const env = hec.envelopes.find((e) => e.sourcetype === 'custos:audit')!;
  t.like(env, { source: 'custos', fields: { custos_kind: 'event', custos_seq: String((env.event as StreamRecord).seq) } });
  const msg = syslog.messages.find((m) => m.msgId === 'AUDIT')!;
  t.is(msg.pri, 110); // facility 13 (log audit) × 8 + severity 6 (info)
  t.is(msg.hostname, 'custos-test');
  t.is(msg.sd['custos@32473']!.hash, (JSON.parse(msg.msg) as StreamRecord).hash);
  t.deepEqual(syslog.errors, []);

  // Checkpoints reach every sink and the anchor file, and the anchored ones match the database's.
  const cps = await allCheckpoints(c.models);
  await hec.until(() => hec.indexed.filter((e) => 'sig' in e).length >= cps.length, 10_000, 'checkpoints');
  await syslog.until(() => syslog.messages.filter((m) => m.msgId === 'CHECKPOINT').length >= cps.length, 10_000, 'checkpoints');
  await otlp.until(() => otlp.records.length >= n + cps.length, 10_000, 'checkpoints');
  await t.notThrowsAsync(async () => {
    for (let i = 0; i < 1200 && readFileSync(anchorFile, 'utf8').trim().split('\n').length < cps.length; i++) await new Promise((r) => setTimeout(r, 50));
  });
  const anchors = parseAnchors(readFileSync(anchorFile, 'utf8'), c.key);
  t.deepEqual(anchors.map((a) => a.sig), cps.map((cp) => cp.sig));
  t.true((await verifyStoredChain(c.models, c.key, undefined, anchors)).ok);
  // The cursors follow the receivers' copies (a batch is acknowledged after it is indexed).
  const cursors = new MongoStreamCursors(c.conn);
  const atEnd = async () => (await cursors.all()).filter((k) => !k.key.includes(':') && k.seq === n).length;
  for (let i = 0; i < 1200 && (await atEnd()) < 3; i++) await new Promise((r) => setTimeout(r, 50));
  t.deepEqual((await cursors.all()).filter((k) => !k.key.includes(':')).map((k) => [k.key, k.seq]).sort(), [['otlp', n], ['splunk', n], ['syslog', n]], 'each sink\'s cursor at the end of the chain');
});

test.serial('sinks killed and restarted at random points while events flow: the lag only grows while down, then every record arrives, in order, at least once; no gap', async (t) => {
  t.timeout(180_000);
  const c = await chain('chaos');
  t.teardown(c.drop);
  const hec = new FakeSplunkHec({ token: TOKEN });
  hec.indexDelayMs = 30; // so a crash finds batches accepted but not yet indexed
  const syslog = new FakeSyslogReceiver();
  const otlp = new FakeOtlpReceiver();
  await Promise.all([hec.start(), syslog.start(), otlp.start()]);
  t.teardown(async () => { await hec.stop(); await syslog.stop(); await otlp.stop(); });
  const stream = await startStreamWorker(c.conn, settings([
    hecSettings(hec),
    // Replay more than the test writes: what TCP buffers hold when the collector dies is unbounded here.
    { kind: 'syslog', host: '127.0.0.1', port: syslog.port, tls: false, caFile: undefined, replay: 2000, hostname: 'custos' },
    { kind: 'otlp', url: otlp.url, headers: {} },
  ]), logger);
  t.teardown(() => stream.close());
  const cursors = new MongoStreamCursors(c.conn);
  const faults = [
    async () => { hec.crash(); },
    async () => { await hec.stop(); await c.write(60); await hec.start(); },
    async () => { hec.busy = true; await c.write(30); hec.busy = false; },
    async () => { await syslog.stop(); await c.write(40); await syslog.start(); },
    async () => { otlp.rejectNext = 3; },
    async () => { otlp.unavailable = true; await c.write(30); otlp.unavailable = false; },
  ];
  // The lag of a sink that is down only grows: HEC down while 80 records are written.
  await hec.stop();
  await c.write(80);
  await new Promise((r) => setTimeout(r, 300));
  t.is((await cursors.read('splunk')).seq, 0, 'nothing acknowledged while HEC is down');
  const metrics = createMetrics({ conn: c.conn, redis: standaloneSettings(requireEnv('REDIS_URL'), uniqueName(import.meta.url, 'prefix')), clock: systemClock });
  t.teardown(() => metrics.close());
  t.regex(await metrics.registry.getSingleMetricAsString('custos_audit_stream_lag'), /custos_audit_stream_lag\{sink="splunk"\} 80\n/);
  await hec.start();
  // A new history each run, named by its seed: CHAOS_SEED=… replays the faults' order and sizes (timing still varies).
  const seed = process.env.CHAOS_SEED ?? String(Date.now());
  t.log(`CHAOS_SEED=${seed}`);
  const random = new Prng(seed);
  for (let round = 0; round < 8; round++) {
    await c.write(random.int(20, 59));
    await new Promise((r) => setTimeout(r, random.int(0, 79)));
    await random.pick(faults)();
  }
  const n = c.written;
  await hec.until(() => distinctSeqs(fromHec(hec)) >= n, 60_000, 'all records indexed');
  await syslog.until(() => distinctSeqs(fromSyslog(syslog)) >= n, 60_000, 'all records');
  await otlp.until(() => distinctSeqs(fromOtlp(otlp)) >= n, 60_000, 'all records');
  assertComplete(t, 'splunk', fromHec(hec), n, false);
  assertComplete(t, 'syslog', fromSyslog(syslog), n);
  assertComplete(t, 'otlp', fromOtlp(otlp), n);
  t.log(`records ${n}; received (with redeliveries) splunk ${fromHec(hec).length}, syslog ${fromSyslog(syslog).length}, otlp ${fromOtlp(otlp).length}`);
});

test.serial('syslog: a collector that restarts between two sends gets the replay on every lane, not just what comes next (what sat in its buffers was lost)', async (t) => {
  const c = await chain('syslog-restart');
  t.teardown(c.drop);
  const syslog = new FakeSyslogReceiver();
  await syslog.start();
  t.teardown(() => syslog.stop());
  const stream = await startStreamWorker(c.conn, settings([
    { kind: 'syslog', host: '127.0.0.1', port: syslog.port, tls: false, caFile: undefined, replay: 1000, hostname: 'custos' },
  ]), logger);
  t.teardown(() => stream.close());
  await c.write(30);
  await syslog.until(() => distinctSeqs(fromSyslog(syslog)) >= 30, 30_000, 'the first 30 records');
  await syslog.until(() => syslog.messages.some((m) => m.msgId === 'CHECKPOINT'), 30_000, 'the first checkpoint');
  // The collector dies and comes back while the stream is idle; it had not stored what it had received.
  await syslog.stop();
  syslog.messages.length = 0;
  await syslog.start();
  // A checkpoint first (the hourly heartbeat's, at the same seq): its lane finds the connection lost first.
  await writeCheckpoint(c.models, c.key, systemClock, { onlyIfAdvanced: false });
  await syslog.until(() => syslog.messages.some((m) => m.msgId === 'CHECKPOINT'), 30_000, 'the heartbeat checkpoint');
  await c.write(10);
  await syslog.until(() => distinctSeqs(fromSyslog(syslog)) >= 40, 30_000, 'all 40 records again');
  assertComplete(t, 'syslog', fromSyslog(syslog), 40);
});

interface Child { proc: ChildProcess; log: string[]; started: Promise<void>; exited: Promise<unknown> }
function spawnStream(env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [...entryArgs('bot/cli/main.ts'), 'start', '--only', 'stream'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let onStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => { onStarted = resolve; });
  proc.stderr!.on('data', (d: Buffer) => { log.push(d.toString()); if (d.toString().includes('audit stream started')) onStarted(); });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return { proc, log, started, exited };
}

test.serial('custos start --only stream SIGKILLed mid-flow, then restarted: resumes from the durable cursor, no gap', async (t) => {
  t.timeout(180_000);
  const c = await chain('kill');
  t.teardown(c.drop);
  const hec = new FakeSplunkHec({ token: TOKEN });
  hec.indexDelayMs = 20;
  await hec.start();
  t.teardown(() => hec.stop());
  await c.write(1500);
  const env = testEnv(c.name, uniqueName(import.meta.url, 'prefix'), {
    LOG_LEVEL: 'info', CUSTOS_AUDIT_SIGNING_KEY: c.key.toString('base64'),
    CUSTOS_STREAM_SINKS: 'splunk', CUSTOS_STREAM_SPLUNK_URL: hec.url, CUSTOS_STREAM_SPLUNK_TOKEN: TOKEN, CUSTOS_STREAM_SPLUNK_CHANNEL: CHANNEL,
    CUSTOS_STREAM_BATCH: '50', CUSTOS_STREAM_WINDOW: '2', CUSTOS_STREAM_POLL_MS: '50', CUSTOS_STREAM_BACKOFF_MAX_MS: '200',
  });
  const cursors = new MongoStreamCursors(c.conn);
  const first = spawnStream(env);
  await first.started;
  await hec.until(() => distinctSeqs(fromHec(hec)) >= 200, 60_000, 'a first part delivered');
  first.proc.kill('SIGKILL');
  await first.exited;
  const atKill = (await cursors.read('splunk')).seq;
  t.true(atKill < c.written, `killed mid-flow (cursor ${atKill} of ${c.written})`);
  await c.write(100); // the chain moves on while the stream is down
  const second = spawnStream(env);
  await second.started;
  await hec.until(() => distinctSeqs(fromHec(hec)) >= c.written, 90_000, 'all records after the restart');
  second.proc.kill('SIGTERM');
  await second.exited;
  assertComplete(t, 'splunk', fromHec(hec), c.written);
  t.true((await cursors.read('splunk')).seq >= atKill);
});

/** Rewrites record `seq` (and every later hash and MAC), then re-signs every checkpoint: the database is self-consistent. */
async function rewriteWithKey(c: Chain, seq: number): Promise<void> {
  const events = c.models.events.collection;
  const docs = await events.find({ seq: { $gte: seq } }).sort({ seq: 1 }).toArray();
  let prevHash = docs[0]!.prevHash as string;
  const hashes = new Map<number, string>();
  for (const [i, d] of docs.entries()) {
    const rec: Record<string, unknown> = { ...d, prevHash };
    if (i === 0) rec.decision = 'denied'; // the forged change
    const hash = chainHash(rec);
    await events.updateOne({ _id: d._id }, { $set: { prevHash, decision: rec.decision, hash, mac: recordMac(c.key, hash) } });
    hashes.set(Number(d.seq), hash);
    prevHash = hash;
  }
  let prevSig = '0'.repeat(64);
  for (const cp of await allCheckpoints(c.models)) {
    const lastHash = hashes.get(cp.lastSeq) ?? cp.lastHash;
    const unsigned = { n: cp.n, lastSeq: cp.lastSeq, lastHash, count: cp.count, prevSig, createdAt: cp.createdAt };
    const sig = checkpointSignature(c.key, unsigned);
    await c.models.checkpoints.collection.updateOne({ n: cp.n }, { $set: { lastHash, prevSig, sig } });
    prevSig = sig;
  }
}

test.serial('verify --anchors: an event rewritten and the database\'s own checkpoints re-signed with the key passes plain verify but is caught against the anchors', async (t) => {
  const c = await chain('anchors');
  t.teardown(c.drop);
  const anchorFile = path.join(mkdtempSync(path.join(tmpdir(), 'custos-anchors-')), 'anchors.jsonl');
  await c.write(120);
  await c.write(60);
  const stream: RunningStream = await startStreamWorker(c.conn, settings([], { anchorFile }), logger);
  const cps: AuditCheckpoint[] = await allCheckpoints(c.models);
  for (let i = 0; i < 200; i++) {
    let lines = 0;
    try { lines = readFileSync(anchorFile, 'utf8').trim().split('\n').filter(Boolean).length; } catch { /* not yet */ }
    if (lines >= cps.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stream.close();
  const env = testEnv(c.name, uniqueName(import.meta.url, 'prefix'), { CUSTOS_AUDIT_SIGNING_KEY: c.key.toString('base64') });
  const before = await runCli(['audit', 'verify', '--anchors', anchorFile], env);
  t.is(before.code, 0, before.stderr);
  t.regex(before.stdout, /180 events, chain intact\nchecked against 2 anchored checkpoints \(up to #2\)/);

  await rewriteWithKey(c, 50);
  const plain = await runCli(['audit', 'verify'], env);
  t.is(plain.code, 0, 'the rewrite is self-consistent: the database alone cannot tell');
  const anchored = await runCli(['audit', 'verify', '--anchors', anchorFile], env);
  t.is(anchored.code, 1);
  t.regex(anchored.stdout, /audit chain BROKEN at seq 120: hash differs from the one in anchored checkpoint #1 \(kept outside the database\): the chain was rewritten/);

  const forged = path.join(path.dirname(anchorFile), 'forged.jsonl');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(forged, readFileSync(anchorFile, 'utf8').replace(/"lastSeq":120/, '"lastSeq":121'));
  const bad = await runCli(['audit', 'verify', '--anchors', forged], env);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /the anchor file cannot be used \(1 problem\):\n {2}- line 1: checkpoint #1's signature does not verify under CUSTOS_AUDIT_SIGNING_KEY/);
});
