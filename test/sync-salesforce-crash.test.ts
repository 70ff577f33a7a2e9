// `custos sync run salesforce` as a real process against the fake org, SIGKILLed in the middle of a
// backfill of a thousand records (five pages of 200), then run again: the stored customers equal the org's accounts
// exactly, and the second run upserts exactly what the first had not stored (nothing lost, nothing
// doubled). Then the canary scan: no account's personal values in MongoDB, Redis (audit job payloads
// included) or the processes' output.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { BO, SF_FIXTURES, crashWorld, customerIdOf, sfEnv, syncRunKilled } from './helpers/salesforce-sync.ts';
import { runCli } from './helpers/run-custos.ts';
import { redisDump, testEnv } from './helpers/services.ts';

const CANARIES = [
  { Name: '雀鸮翎 Quixotic Zephyr Holdings', Phone: '13998761210', AccountNumber: '990001' },
  { Name: '鹮鹬鸺 Zephyrine Canary Ltd', Phone: '13998761211', AccountNumber: '990002' },
];

test('SIGKILL mid-backfill, then a second run: exactly the org\'s accounts, nothing doubled; no canary value at rest or in output', async (t) => {
  const { db, prefix, fake } = await crashWorld(t, import.meta.url, 1000); // five pages: each stored page costs more the more there are
  for (const c of CANARIES) fake.create({ ...c, Region__c: 'CN-N', Tier__c: 'A', ownerEmail: BO.email });
  const env = testEnv(db.name, prefix, { CUSTOS_SYNC_SOURCES: 'salesforce', CUSTOS_SYNC_MAPPINGS: fileURLToPath(SF_FIXTURES), LOG_LEVEL: 'trace', ...sfEnv(fake) });

  // The first run is killed shortly after the 3rd page was asked for: while it reads or stores that page.
  let pages = 0;
  const killed = await syncRunKilled(fake, env, (c) => c.path.startsWith('/query') && ++pages === 3);
  let output = killed.output;
  t.is(killed.signal, 'SIGKILL', output);
  const storedBefore = await db.conn.collection('customers').countDocuments();
  t.true(storedBefore >= 2 * 200 && storedBefore < 1002, `killed mid-backfill (${storedBefore} stored)`);

  const second = await runCli(['sync', 'run', 'salesforce'], env);
  t.is(second.code, 0, second.stderr);
  output += second.stdout + second.stderr;
  const m = /(\d+) upserted, (\d+) unchanged, 0 deleted, 0 rejected/.exec(second.stdout);
  t.truthy(m, second.stdout);
  t.is(Number(m![1]), 1002 - storedBefore, 'the second run stores exactly what the first had not');
  const stored = (await db.conn.collection('customers').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)).sort();
  t.deepEqual(stored, [...fake.accounts.keys()].map((id) => customerIdOf(fake, id)).sort());
  t.is(await db.conn.collection('sync_links').countDocuments(), 1002);

  // The canary scan.
  const mongo: string[] = [];
  const collections = await db.conn.db!.listCollections().toArray();
  for (const { name } of collections) mongo.push(name, JSON.stringify(await db.conn.collection(name).find({}).toArray()));
  const mongoText = mongo.join('\n');
  t.true(mongoText.includes('C-990001'), 'the scan sees the stored customers');
  const redis = await redisDump(prefix);
  t.true(redis.keys > 0 && redis.text.includes('sync.run'), 'the scan sees the audit jobs');
  for (const c of CANARIES) {
    for (const [where, text] of [['MongoDB', mongoText], ['Redis', redis.text], ['output', output]] as const) {
      for (const value of [c.Name, c.Name.slice(0, 3), c.Phone]) t.false(text.includes(value), `a canary value found in ${where}`);
    }
  }
});
