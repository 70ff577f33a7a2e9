// custos on Redis Sentinel (one primary, two replicas, three sentinels; test/helpers/redis-topology.ts):
// two bots behind the round-robin proxy and two workers, configured with REDIS_SENTINELS only. While
// signed Slack lookups flow, the primary is SIGKILLed; the sentinels promote a replica and every client
// (bots, workers, BullMQ) follows it. Afterwards: every acknowledged request answered exactly once,
// every audit event stored once in one gapless chain that verifies, /readyz 200 on every bot, and more
// traffic goes through. The approval flows run through each failover (test/helpers/scale-flows.ts): no
// decision twice, no grant lost, each export delivered once, each audit query answered once.
// A sync run goes through each failover as well: an ERP's signed push batches through the proxy
// (test/helpers/scale-sync.ts), counted after: the customers exactly the ERP's records, one delivery and one
// sync.run per batch, one sync.delete per deletion.
// SCALE_DRILLS=1: more traffic, bigger click bursts, and the new primary killed as well.
import test from 'ava';
import { startRedisSentinel, type RedisSentinelSet } from '../helpers/redis-topology.ts';
import { ScaleDrill } from '../helpers/scale-drill.ts';
import { assertFlows } from '../helpers/scale-flow-checks.ts';
import { ScaleFlows } from '../helpers/scale-flows.ts';
import { ScaleSync, SYNC_ENV } from '../helpers/scale-sync.ts';

const FULL = process.env.SCALE_LONG === '1' || process.env.SCALE_DRILLS === '1';
const PER_DRILL = FULL ? 8 : 4;
/** Concurrent Approve clicks on one approval card, spread over the bots by the proxy. */
const BURST = FULL ? 5 : 3;
/** Push batches of the sync run beside one failover, at most (scale-sync.ts). */
const SYNC_BATCHES = 10;

const drill = new ScaleDrill(import.meta.url);
const flows = new ScaleFlows(drill);
const sync = new ScaleSync(drill);
let sentinel: RedisSentinelSet;

test.after.always(async () => {
  await drill.stop();
  await sentinel?.stop();
});

test.serial('the Sentinel primary killed mid-traffic: a replica promoted, traffic continues, every request answered once, one audit chain', async (t) => {
  t.timeout(FULL ? 900_000 : 420_000);
  // Started here, not in test.before: ava's 120 s inactivity timeout covers a hook, and on a loaded
  // machine a Redis topology and four custos processes can take longer than that to come up.
  sentinel = await startRedisSentinel();
  await drill.start({ ...sentinel.env, ...SYNC_ENV });
  await drill.traffic(PER_DRILL);
  const first = await sentinel.currentPrimary();
  const promoted: number[] = [];
  for (let i = 0; i < (FULL ? 2 : 1); i++) {
    // A reveal and an export approved by bursts of clicks, and an audit query, go through the failover.
    const failover = drill.traffic(PER_DRILL * 2, async () => promoted.push(await sentinel.killPrimary()));
    await Promise.all([failover, flows.once(BURST), sync.during(failover, SYNC_BATCHES)]);
    await drill.readyzBecomes(200, `after failover ${i + 1}`);
    await drill.traffic(PER_DRILL);
  }
  t.false(promoted.includes(first), 'a replica took over');
  const lookupsAfter = await flows.lookupsAfter();
  await drill.assertEveryAckAnsweredOnce(t);
  await drill.assertAuditChain(t, drill.acked.length - drill.refusedForAudit());
  t.deepEqual(await drill.lookupsPerRequest(), [], 'no lookup recorded twice for one request');
  await assertFlows(t, drill, flows.records, lookupsAfter);
  await sync.assertSync(t);
  t.log(`flows: ${flows.summary()}`);
  t.log(`acknowledged ${drill.acked.length}, refused for the audit queue ${drill.refusedForAudit()}; primaries ${first} → ${promoted.join(' → ')}`);
});
