// The audit producer on replicated Redis (issue 21): a job the primary acknowledged is reported recorded
// only once a replica confirmed it (Redis WAIT on the connection that wrote it), so a primary killed
// right after cannot take a shown lookup's record with it; with the replicas not confirming, the lookup
// is refused (fail closed). Real Sentinel and Cluster topologies (test/helpers/redis-topology.ts);
// replicas are frozen with SIGSTOP, so they stay connected to the primary but acknowledge nothing.
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { userMessage } from '../bot/core/messages.ts';
import { recordThenShow } from '../bot/core/record.ts';
import { loadConfig } from '../bot/config.ts';
import type { RedisSettings } from '../bot/config-redis.ts';
import { AUDIT_QUEUE, createAuditProducer } from '../bot/queue/audit-producer.ts';
import { connectionFor, keySlot } from '../bot/queue/replica-wait.ts';
import { createRedis } from '../bot/store/redis-client.ts';
import { startRedisCluster, startRedisSentinel, until, type RedisCluster, type RedisNode, type RedisSentinelSet } from './helpers/redis-topology.ts';

let sentinel: RedisSentinelSet | undefined;
let cluster: RedisCluster | undefined;
const frozen = new Set<RedisNode>();
test.after.always(async () => {
  for (const n of frozen) n.child.kill('SIGCONT');
  await sentinel?.stop();
  await cluster?.stop();
});

function event(): AuditEventInput {
  const now = new Date();
  return {
    v: 1, eventId: newEventId(now), occurredAt: now.toISOString(),
    actor: { employeeId: 'E-0001', platform: 'slack', platformUserId: 'U012ABC' },
    channelKind: 'dm', action: 'lookup', customerIds: ['C-000123'],
    fields: [{ name: 'phone', outcome: 'mask:mobile' }], decision: 'allowed', ruleIds: ['sales-own-customers'],
  };
}

function redisSection(env: Record<string, string>): RedisSettings {
  return loadConfig({ ...env, CUSTOS_QUEUE_PREFIX: `replicas_${process.pid}` }, { require: ['redis'] }).redis!;
}

function node(port: number): Redis {
  const r = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, commandTimeout: 5000 });
  r.on('error', () => undefined);
  return r;
}

function freeze(n: RedisNode): void { frozen.add(n); n.child.kill('SIGSTOP'); }
function thaw(n: RedisNode): void { frozen.delete(n); n.child.kill('SIGCONT'); }

/**
 * With every replica frozen, `record` is still pending while the primary already holds the job and the
 * producer's connection sits in WAIT; thawing one replica lets it resolve, and that replica holds the job
 * at that moment. Then with the replicas frozen again and a short WAIT, the lookup is refused unshown.
 */
async function provesWait(t: ExecutionContext, redis: RedisSettings, primary: Redis, replicas: RedisNode[]): Promise<void> {
  const patient = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: 2000, replicas: { minReplicas: 1, timeoutMs: 60_000 } });
  const hasty = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: 2000, reconnectWaitMs: 0, replicas: { minReplicas: 1, timeoutMs: 300 } });
  t.teardown(async () => { await patient.close(); await hasty.close(); });
  t.true(await patient.ready(60_000) && await hasty.ready(60_000));
  await patient.record(event()); // connected, scripts loaded

  const e = event();
  const jobKey = `${redis.queuePrefix}:${AUDIT_QUEUE}:${e.eventId}`;
  for (const r of replicas) freeze(r);
  let settled = false;
  const recorded = patient.record(e).finally(() => { settled = true; });
  recorded.catch((err: unknown) => t.log(`record failed: ${String(err)}`));
  await until('the job on the primary and the producer blocked in WAIT', async () => {
    const blocked = String(await primary.call('CLIENT', 'LIST')).split('\n').some((c) => /\bflags=\S*b/.test(c) && /\bcmd=wait\b/.test(c));
    return (await primary.exists(jobKey)) === 1 && blocked ? true : undefined;
  });
  t.false(settled, 'not reported recorded while no replica has the job');
  thaw(replicas[0]!);
  await recorded;
  const copy = node(replicas[0]!.port);
  t.teardown(() => copy.disconnect());
  await copy.call('READONLY').catch(() => undefined); // a cluster replica answers reads only after READONLY
  t.is(await copy.exists(jobKey), 1, 'the replica that confirmed holds the job when record resolves');
  for (const r of replicas.slice(1)) thaw(r);

  for (const r of replicas) freeze(r);
  let shown = 0;
  const err = await t.throwsAsync(recordThenShow(hasty, event(), () => { shown++; }));
  for (const r of replicas) thaw(r);
  t.true(isCustosError(err, ErrorCode.AuditUnavailable), String(err));
  t.regex(err!.message, /0 of 1 required replicas confirmed the job within 300 ms/);
  t.regex(userMessage(err, 'en'), /audit log is unavailable, so this request was refused/);
  t.is(shown, 0, 'nothing shown');
}

test.serial('Sentinel: record resolves only once a replica holds the job; with the replicas silent the lookup is refused', async (t) => {
  t.timeout(180_000);
  sentinel = await startRedisSentinel();
  const redis = redisSection(sentinel.env);
  t.is(redis.minReplicas, 1, 'a sentinel-managed primary asks one replica by default');
  const primary = node(await sentinel.currentPrimary());
  t.teardown(() => primary.disconnect());
  await provesWait(t, redis, primary, sentinel.replicas);
  await sentinel.stop();
  sentinel = undefined;
});

test.serial('Cluster: WAIT goes to the primary of the queue\'s slot; the job is on that shard\'s replica when record resolves, and survives the primary killed', async (t) => {
  t.timeout(180_000);
  cluster = await startRedisCluster();
  const redis = redisSection(cluster.env);
  t.is(redis.minReplicas, 1);
  const jobKey = `${redis.queuePrefix}:${AUDIT_QUEUE}:x`;
  const admin = node((await cluster.roles()).primaries[0]!);
  t.teardown(() => admin.disconnect());
  t.is(keySlot(jobKey), Number(await admin.call('CLUSTER', 'KEYSLOT', jobKey)), 'our slot is the cluster\'s');
  // The shard that owns the queue's slot, asked of the cluster (not of the code under test).
  const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const slot = keySlot(jobKey);
  const primaryPort = slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
  const replicaPorts = (await cluster.roles()).replicas.filter((r) => r.of === primaryPort).map((r) => r.port);
  t.is(replicaPorts.length, 1);
  const client = createRedis(redis, {});
  t.teardown(() => client.disconnect());
  await until('cluster client ready', async () => (client.status === 'ready' ? true : undefined));
  t.is(connectionFor(client, jobKey)?.options.port, primaryPort, 'the node connection a keyed write goes out on');
  const primary = node(primaryPort);
  t.teardown(() => primary.disconnect());
  await provesWait(t, redis, primary, cluster.nodes.filter((n) => replicaPorts.includes(n.port)));

  // The failure: the shard's primary killed right after a confirmed record. The promoted replica
  // has the job, and once the killed node is back as its replica, records are confirmed again.
  const producer = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: 2000, reconnectWaitMs: 20_000 });
  t.teardown(() => producer.close());
  t.true(await producer.ready(60_000));
  const before = event();
  await producer.record(before);
  const promoted = node(await cluster.killPrimary(primaryPort));
  t.teardown(() => promoted.disconnect());
  t.is(await promoted.exists(`${redis.queuePrefix}:${AUDIT_QUEUE}:${before.eventId}`), 1, 'the confirmed job survived the kill');
  const after = event();
  await producer.record(after);
  t.is(await promoted.exists(`${redis.queuePrefix}:${AUDIT_QUEUE}:${after.eventId}`), 1, 'recorded on the promoted primary');
});

test('keySlot: a hash tag is hashed alone; the CRC16 of the Redis Cluster spec', (t) => {
  t.is(keySlot('123456789'), 0x31c3 % 16_384, 'the spec\'s check value');
  t.is(keySlot('{custos}:audit:1'), keySlot('custos'));
  t.not(keySlot('{}custos'), keySlot('custos'), 'an empty tag: the whole key is hashed');
});
