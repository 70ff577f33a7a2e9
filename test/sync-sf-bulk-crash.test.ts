// `custos sync run salesforce` as a real process doing a Bulk API 2.0 backfill (1,000 accounts above a
// threshold of 500, result sets of 200), SIGKILLed while it downloads the third result set, then run
// again: the second run resumes the same job from the stored locator (no new job, the sets before it not
// asked again), stores exactly what the first had not, and custos ends with exactly the org's accounts,
// one link each.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { decodeBulkCursor } from '../bot/sync/salesforce/bulk.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { SF_FIXTURES, crashWorld, customerIdOf, sfEnv, syncRunKilled } from './helpers/salesforce-sync.ts';
import { runCli } from './helpers/run-custos.ts';
import { testEnv } from './helpers/services.ts';

test('SIGKILL mid-download of a bulk backfill, then a second run: same job, resumed from its locator; exactly the org\'s accounts', async (t) => {
  const { db, prefix, fake } = await crashWorld(t, import.meta.url, 1000);
  const env = testEnv(db.name, prefix, {
    CUSTOS_SYNC_SOURCES: 'salesforce', CUSTOS_SYNC_MAPPINGS: fileURLToPath(SF_FIXTURES), ...sfEnv(fake, { CUSTOS_SYNC_SALESFORCE_BULK_THRESHOLD: '500' }),
  });

  let sets = 0;
  const { signal, output } = await syncRunKilled(fake, env, (c) => c.path.endsWith('/results') && ++sets === 3);
  t.is(signal, 'SIGKILL', output);
  const storedBefore = await db.conn.collection('customers').countDocuments();
  t.true(storedBefore >= 400 && storedBefore <= 600, `killed mid-download (${storedBefore} stored)`);
  const stopped = decodeBulkCursor((await new SyncStore(db.conn).cursor('salesforce')).cursor ?? '');
  t.truthy(stopped?.locator, 'the cursor holds the next result set\'s locator');
  const callsBefore = fake.calls.length;

  const second = await runCli(['sync', 'run', 'salesforce'], env);
  t.is(second.code, 0, second.stderr);
  t.is(fake.bulk.created.length, 1, 'the same job, still available, is resumed');
  const asked = fake.calls.slice(callsBefore).filter((c) => c.path.endsWith('/results')).map((c) => new URLSearchParams(c.search).get('locator'));
  t.is(asked[0], stopped!.locator, 'from the stored locator');
  t.false(asked.includes(null), 'the first result set is not asked again');
  const m = /(\d+) upserted, (\d+) unchanged, 0 deleted, 0 rejected/.exec(second.stdout);
  t.truthy(m, second.stdout);
  t.is(Number(m![1]), 1000 - storedBefore, 'the second run stores exactly what the first had not');
  const stored = (await db.conn.collection('customers').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)).sort();
  t.deepEqual(stored, [...fake.accounts.keys()].map((id) => customerIdOf(fake, id)).sort());
  t.is(await db.conn.collection('sync_links').countDocuments(), 1000);
});
