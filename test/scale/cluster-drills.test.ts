// Scale-out drills on a Redis Cluster (three primaries, three replicas): two bots behind a round-robin
// proxy, two workers, FerretDB (test/helpers/scale-drill.ts). While signed Slack lookups flow through
// the proxy: SIGKILL a bot while it holds requests it acknowledged and has not answered (the other bot
// finishes them from the pending-answer ledger), pause a whole shard (primary and replica) and check
// /readyz against the outage, kill a primary outright. SCALE_DRILLS=1 adds the longer drills: the killed
// bot restarted, a worker SIGKILLed mid-batch, CLUSTER FAILOVER on a replica, a rolling SIGTERM-and-
// replace of both workers, and more traffic; SCALE_LONG=1 more again, every drill twice.
// Through the primary kill (and with SCALE_DRILLS=1 every drill but the pause) run the approval flows
// (test/helpers/scale-flows.ts): a reveal, an access request and an export, each approved by a burst of
// concurrent Approve clicks that the proxy spreads over the bots, and an auditor's /audit query.
// After all of them: every acknowledged request answered exactly once, the killed bot's included;
// every audit event stored once in one gapless chain that verifies, no lookup recorded twice for one
// request; /readyz 503 on every bot while a shard is unreachable and 200 again after; no decision twice,
// no grant lost, each export delivered once, each audit query answered once (scale-flow-checks.ts).
// Through the bot kill and the primary kill (and with SCALE_DRILLS=1 the worker drills and CLUSTER FAILOVER) a
// sync run goes too: an ERP's signed push batches through the proxy (scale-sync.ts), asserted after all of them:
// the customers exactly the ERP's records, one delivery and one sync.run per batch, one sync.delete per deletion.
import test from 'ava';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-topology.ts';
import { ScaleDrill } from '../helpers/scale-drill.ts';
import { assertFlows } from '../helpers/scale-flow-checks.ts';
import { ScaleFlows } from '../helpers/scale-flows.ts';
import { ScaleSync, SYNC_ENV } from '../helpers/scale-sync.ts';
import { stopGracefully } from '../helpers/scale-topology.ts';

const LONG = process.env.SCALE_LONG === '1';
const FULL = LONG || process.env.SCALE_DRILLS === '1';
const PER_DRILL = LONG ? 40 : FULL ? 8 : 4;
/** Concurrent Approve clicks on one approval card, spread over the bots by the proxy. */
const BURST = LONG ? 10 : FULL ? 5 : 3;
/** Push batches of the sync run beside one drill, at most (scale-sync.ts). */
const SYNC_BATCHES = LONG ? 20 : 10;
/** A key in the pending-answer ledger's slot (bot/store/answer-ledger.ts: every key carries `{answers}`). */
const ANSWER_LEDGER_KEY = '{answers}';

const drill = new ScaleDrill(import.meta.url);
const flows = new ScaleFlows(drill);
const sync = new ScaleSync(drill);
let cluster: RedisCluster;

test.after.always(async () => {
  await drill.stop();
  await cluster?.stop();
});

test.serial('drills mid-traffic on a Redis Cluster: every acknowledged request answered once, one audit chain, /readyz true to the outage', async (t) => {
  t.timeout(LONG ? 1_800_000 : FULL ? 900_000 : 420_000);
  // Started here, not in test.before: ava's 120 s inactivity timeout covers a hook, and on a loaded
  // machine a Redis topology and four custos processes can take longer than that to come up.
  cluster = await startRedisCluster();
  await drill.start({ ...cluster.env, ...SYNC_ENV });
  let left = 0;
  let pushesCut = 0;
  for (let round = 0; round < (LONG ? 2 : 1); round++) {
    await drill.traffic(PER_DRILL);

    // 1. SIGKILL a bot holding acknowledged, unanswered requests: the other bot claims and answers them.
    // With SCALE_DRILLS=1 the approval, export and audit flows run through it too. The sync run's batches
    // keep coming, so the kill sometimes cuts one short mid-apply (counted and logged, not required).
    await alongside(FULL, drill.traffic(PER_DRILL * 2, async () => {
      const killed = await drill.killBotMidAnswer((port) => sync.applyingOn(port));
      left += killed.left.length;
      if (killed.cutAlso) pushesCut++;
      if (FULL) {
        const fresh = await drill.bot(`bot-${round}-restarted`);
        drill.bots.push(fresh);
        drill.proxy.backends.splice(drill.proxy.backends.indexOf(killed.victim.port!), 1, fresh.port!);
      }
    }, 1));

    // 2. A shard unreachable (its primary and replica paused, so nothing can take over): every bot's
    // /readyz says 503 while it lasts and 200 once the shard is back.
    await drill.readyzBecomes(200, 'before the outage');
    const paused = await cluster.pauseShard(await primaryWithReplica());
    await drill.readyzBecomes(503, 'during the outage');
    await paused.resume();
    await drill.readyzBecomes(200, 'after the outage');
    await drill.traffic(PER_DRILL);

    // 3. A primary killed outright: its replica is promoted after the node timeout. A reveal and an export
    // approved by bursts of clicks, and an audit query, go through it. The one killed serves the
    // pending-answer ledger (the `{answers}` slot): writes in flight to it when it dies are what "answered
    // exactly once" has to survive.
    await alongside(true, drill.traffic(PER_DRILL, async () => cluster.killPrimary(await primaryWithReplica(ANSWER_LEDGER_KEY))));

    if (!FULL) continue;
    // 4. SIGKILL one worker mid-batch; the other takes the lease and the stalled jobs; it comes back.
    await alongside(true, drill.traffic(PER_DRILL, async () => {
      const victim = drill.workers.shift()!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      drill.workers.push(await drill.worker(`worker-${round}-restarted`));
    }));
    // 5. CLUSTER FAILOVER: a replica takes over a primary's slots without losing writes.
    await alongside(true, drill.traffic(PER_DRILL, async () => cluster.failover(await primaryWithReplica())));
    // 6. A rolling deploy: each worker stopped (SIGTERM) and replaced before the next one goes.
    await alongside(true, drill.traffic(PER_DRILL, async () => {
      for (let i = 0; i < 2; i++) {
        const old = drill.workers.shift()!;
        const code = await stopGracefully(old);
        t.is(code, 0, `${old.name} exits cleanly on SIGTERM; its log ends: ${code === 0 ? '' : old.log().slice(-3000)}`);
        drill.workers.push(await drill.worker(`worker-${round}-deploy-${i}`));
      }
    }));
  }

  const lookupsAfter = await flows.lookupsAfter();
  await drill.assertEveryAckAnsweredOnce(t);
  t.true(left > 0, 'the killed bot left acknowledged requests unanswered');
  // Finished, or closed unanswered when the killed bot had begun its reply (at most once).
  const taken = drill.finishedForOthers() + drill.unconfirmedReplies();
  t.true(taken >= left, `the live bots took over the killed bot's requests (${taken} ≥ ${left})`);
  await drill.assertAuditChain(t, drill.acked.length - drill.refusedForAudit());
  t.deepEqual(await drill.lookupsPerRequest(), [], 'no lookup recorded twice for one request');
  await drill.readyzBecomes(200, 'after the drills');
  await assertFlows(t, drill, flows.records, lookupsAfter);
  await sync.assertSync(t);
  t.log(`flows: ${flows.summary()}`);
  t.log(`acknowledged ${drill.acked.length}, refused for the audit queue ${drill.refusedForAudit()}; left unanswered by the killed bot ${left}, all answered by another; push batches cut short by the bot kill ${pushesCut}`);
});

/**
 * `drill` (lookup traffic around a failure) with the sync run beside it (push batches until the failure is
 * over: cheap, so in every size), and one of each approval / export / audit flow when `withFlows`.
 */
async function alongside(withFlows: boolean, drillDone: Promise<void>): Promise<void> {
  await Promise.all([drillDone, withFlows ? flows.once(BURST) : undefined, sync.during(drillDone, SYNC_BATCHES)]);
}

/**
 * A primary that still has a replica (after a kill, the promoted replica has none until its old primary
 * returns): the one serving `key` when it has one.
 */
async function primaryWithReplica(key?: string): Promise<number> {
  const { primaries, replicas } = await cluster.roles();
  const preferred = key === undefined ? undefined : await cluster.primaryOf(key);
  const port = [...(preferred === undefined ? [] : [preferred]), ...primaries].find((p) => primaries.includes(p) && replicas.some((r) => r.of === p));
  if (port === undefined) throw new Error('no primary has a replica left');
  return port;
}
