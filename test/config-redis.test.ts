// The redis section (bot/config-redis.ts): one of standalone / cluster / sentinel, every problem at once,
// and the queue prefix a hash tag on a cluster (BullMQ's multi-key scripts need one slot per queue).
import test from 'ava';
import fc from 'fast-check';
import { describeRedis, parseRedisSection } from '../bot/config-redis.ts';
import { loadConfig } from '../bot/config.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, { require: ['redis'] });
  } catch (err) {
    if (err instanceof CustosError && err.code === ErrorCode.ConfigInvalid) return err.details.problems as string[];
    throw err;
  }
  return [];
}

test('REDIS_URL alone: a standalone server, prefix and key prefix as given', (t) => {
  const cfg = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', CUSTOS_QUEUE_PREFIX: 'acme' }, { require: ['redis'] });
  t.deepEqual(cfg.redis?.topology, { kind: 'standalone', url: 'redis://127.0.0.1:6379' });
  t.is(cfg.redis?.queuePrefix, 'acme');
  t.is(cfg.redis?.keyPrefix, 'acme');
});

test('REDIS_CLUSTER_NODES: a cluster whose queue prefix is a hash tag and whose own keys are not', (t) => {
  const cfg = loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000, r2:7001,10.0.0.3:7002', REDIS_PASSWORD: 'pw', REDIS_TLS: 'true' }, { require: ['redis'] });
  t.deepEqual(cfg.redis?.topology, { kind: 'cluster', nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }, { host: '10.0.0.3', port: 7002 }] });
  t.is(cfg.redis?.queuePrefix, '{custos}');
  t.is(cfg.redis?.keyPrefix, 'custos');
  t.is(cfg.redis?.password, 'pw');
  t.true(cfg.redis?.tls);
  t.is(describeRedis(cfg.redis!), 'cluster r1:7000,r2:7001,10.0.0.3:7002');
  const tagged = loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000', CUSTOS_QUEUE_PREFIX: '{acme}' });
  t.is(tagged.redis?.queuePrefix, '{acme}', 'an already tagged prefix is kept');
  t.is(tagged.redis?.keyPrefix, 'acme');
});

test('REDIS_SENTINELS with REDIS_SENTINEL_NAME: a sentinel-managed primary', (t) => {
  const cfg = loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379,s3:26379', REDIS_SENTINEL_NAME: 'custos-main', REDIS_SENTINEL_PASSWORD: 'spw' }, { require: ['redis'] });
  t.deepEqual(cfg.redis?.topology, { kind: 'sentinel', name: 'custos-main', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: 's3', port: 26379 }] });
  t.is(cfg.redis?.queuePrefix, 'custos', 'one primary holds every key: no hash tag needed');
  t.is(cfg.redis?.sentinelPassword, 'spw');
});

test('replicas that must confirm an audit job: none for one server, one for a cluster or sentinel set, or as set', (t) => {
  const of = (env: Record<string, string>) => { const r = loadConfig(env, { require: ['redis'] }).redis!; return [r.minReplicas, r.replicaWaitMs]; };
  t.deepEqual(of({ REDIS_URL: 'redis://127.0.0.1:6379' }), [0, 1000], 'a standalone server has no replica to wait for');
  t.deepEqual(of({ REDIS_CLUSTER_NODES: 'r1:7000' }), [1, 1000]);
  t.deepEqual(of({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm' }), [1, 1000]);
  t.deepEqual(of({ REDIS_CLUSTER_NODES: 'r1:7000', CUSTOS_REDIS_MIN_REPLICAS: '0', CUSTOS_REDIS_WAIT_TIMEOUT_MS: '250' }), [0, 250], 'an explicit 0 is kept');
  t.deepEqual(of({ REDIS_URL: 'redis://127.0.0.1:6379', CUSTOS_REDIS_MIN_REPLICAS: '2' }), [2, 1000]);
  const problems = problemsOf({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', CUSTOS_REDIS_MIN_REPLICAS: '9', CUSTOS_REDIS_WAIT_TIMEOUT_MS: '0' });
  t.true(problems.some((p) => p.includes('CUSTOS_REDIS_MIN_REPLICAS must be 0-5')), problems.join('\n'));
  t.true(problems.some((p) => p.includes('CUSTOS_REDIS_WAIT_TIMEOUT_MS must be 10-60000')), problems.join('\n'));
});

test('every redis problem is reported at once, each naming its setting and the fix', (t) => {
  const problems = problemsOf({
    REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'r1:7000', REDIS_SENTINEL_NAME: 'm', REDIS_PASSWORD: 'x', HTTP_PORT: '99999',
  });
  t.true(problems.some((p) => p.includes('REDIS_URL and REDIS_CLUSTER_NODES are all set') && p.includes('exactly one')), problems.join('\n'));
  t.true(problems.some((p) => p.startsWith('REDIS_SENTINEL_NAME is set without REDIS_SENTINELS')));
  t.true(problems.some((p) => p.includes('with REDIS_URL put them in the URL')));
  t.true(problems.some((p) => p.startsWith('HTTP_PORT')), 'problems of other sections are listed with them');
});

test('malformed node lists and a sentinel set without a name are refused', (t) => {
  t.true(problemsOf({ REDIS_CLUSTER_NODES: 'r1:7000,r2' }).some((p) => p.includes('REDIS_CLUSTER_NODES must be a comma-separated list of host:port') && p.includes('"r2"')));
  t.true(problemsOf({ REDIS_CLUSTER_NODES: 'r1:70000' }).some((p) => p.includes('"r1:70000"')));
  t.true(problemsOf({ REDIS_SENTINELS: ' , ' }).some((p) => p.includes('REDIS_SENTINELS is empty')));
  t.true(problemsOf({ REDIS_SENTINELS: 's1:26379' }).some((p) => p.startsWith('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS')));
  t.true(problemsOf({}).some((p) => p.includes('REDIS_URL is required') && p.includes('REDIS_CLUSTER_NODES')));
  t.true(problemsOf({ REDIS_CLUSTER_NODES: 'r1:7000', CUSTOS_QUEUE_PREFIX: '{a}b' }).some((p) => p.startsWith('CUSTOS_QUEUE_PREFIX')));
});

test('property: any list of valid host:port parses back to the same nodes, in order', (t) => {
  const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,10}){0,2}$/);
  const node = fc.record({ host, port: fc.integer({ min: 1, max: 65_535 }) });
  fc.assert(fc.property(fc.array(node, { minLength: 1, maxLength: 8 }), (nodes) => {
    const problems: string[] = [];
    const s = parseRedisSection({ REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(',') }, problems);
    t.deepEqual(problems, []);
    t.deepEqual(s?.topology, { kind: 'cluster', nodes });
  }));
});
