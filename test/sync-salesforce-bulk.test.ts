// Bulk API 2.0 for large backfills: real jsforce against the fake org's query jobs
// (test/fakes/salesforce-bulk.ts), the real runner and stores. A backfill above
// CUSTOS_SYNC_SALESFORCE_BULK_THRESHOLD creates one query job, polls it, downloads its CSV result sets by
// locator and hands over to incremental SOQL from the job's createdDate; below the threshold it is paged
// SOQL. A failed job fails one run with an error saying so and the next run starts a new job; a job gone
// mid-download (404) is replaced, nothing lost or doubled. The SIGKILL variant is
// test/sync-sf-bulk-crash.test.ts (resumed from the stored locator, same job).
import test from 'ava';
import type { Connection } from 'mongoose';
import { ErrorCode } from '../bot/core/errors.ts';
import { decodeBulkCursor } from '../bot/sync/salesforce/bulk.ts';
import { decodeCursor, soqlDateTime } from '../bot/sync/salesforce/soql.ts';
import type { FakeSalesforce } from './fakes/salesforce.ts';
import { ANN, createAccounts, customerIdOf, salesforceSync } from './helpers/salesforce-sync.ts';

const MINUTE = 60_000;
const BULK = { CUSTOS_SYNC_SALESFORCE_BULK_THRESHOLD: '250' };

const sorted = (xs: Iterable<string>) => [...xs].sort();
async function storedIds(conn: Connection): Promise<string[]> {
  return sorted((await conn.collection('customers').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
}
const fakeIds = (fake: FakeSalesforce) => sorted([...fake.accounts.keys()].map((id) => customerIdOf(fake, id)));
const jobPath = (p: string) => p.replace(/750FK\d{10}AAA/, 'JOB');

test('a backfill above the threshold goes through one Bulk API 2.0 query job, result set by result set, then incremental SOQL takes over', async (t) => {
  const w = await salesforceSync(t, { env: BULK });
  const ids = createAccounts(w.fake, 330);
  const report = await w.runner.run();
  t.is(report.upserted, 330);
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake), 'exactly the org\'s accounts');
  t.is(await w.conn.collection('sync_links').countDocuments(), 330, 'one link per account');

  t.is(w.fake.calls[0]!.soql, 'SELECT COUNT() FROM Account', 'the expected count first');
  t.is(w.fake.bulk.created.length, 1);
  t.is(w.fake.bulk.created[0]!.soql, 'SELECT Id, SystemModstamp, AccountNumber, Owner.Email, Name, Region__c, Tier__c, Phone FROM Account', 'the mapped fields, no ORDER BY');
  const bulkCalls = w.fake.calls.filter((c) => c.path.startsWith('/jobs/'));
  t.deepEqual(bulkCalls.map((c) => [c.method, jobPath(c.path), c.status]), [
    ['POST', '/jobs/query', 200], ['GET', '/jobs/query/JOB', 200], ['GET', '/jobs/query/JOB', 200],
    ['GET', '/jobs/query/JOB/results', 200], ['GET', '/jobs/query/JOB/results', 200],
  ], 'created, polled until JobComplete, two result sets of 200 at most');
  const results = bulkCalls.filter((c) => c.path.endsWith('/results')).map((c) => new URLSearchParams(c.search));
  t.deepEqual(results.map((p) => p.get('maxRecords')), ['200', '200'], 'maxRecords is the batch size');
  t.deepEqual(results.map((p) => p.get('locator')), [null, 'MjAw'], 'each set asked by the previous answer\'s Sforce-Locator');
  // After the last set: the incremental SOQL from one second before the job's createdDate.
  const job = w.fake.bulk.jobInfo(w.fake.bulk.created[0]!.id)!;
  const soqlAfter = w.fake.calls.filter((c) => c.soql?.includes('ORDER BY SystemModstamp'));
  t.is(soqlAfter.length, 1);
  const from = soqlDateTime(new Date(Date.parse(soqlDateTime(job.createdDate)) - 1000));
  t.true(soqlAfter[0]!.soql!.includes(`SystemModstamp > ${from} OR (SystemModstamp = ${from} AND Id > '000000000000000')`), soqlAfter[0]!.soql);
  const cursor = decodeCursor((await w.store.statusOf('salesforce')).cursor!);
  t.truthy(cursor, 'an ordinary SOQL cursor once the backfill is done');

  const c = await w.customers.get(customerIdOf(w.fake, ids[0]!));
  t.like(c, { name: w.fake.accounts.get(ids[0]!)!.Name, region: 'east', tier: 'silver', ownerId: ANN.employeeId, phone: w.fake.accounts.get(ids[0]!)!.Phone! });

  // The next run is incremental SOQL: no new job, only what changed.
  w.clock.jump(2 * MINUTE);
  w.fake.update(ids[5]!, { Phone: '13900000005' });
  const next = await w.runner.run();
  t.is(next.upserted, 1);
  t.is(w.fake.bulk.created.length, 1, 'no second job');
  t.is((await w.customers.get(customerIdOf(w.fake, ids[5]!)))!.phone, '13900000005');
});

test('a backfill at or below the threshold is paged SOQL: no query job', async (t) => {
  const w = await salesforceSync(t, { env: BULK });
  createAccounts(w.fake, 250);
  const report = await w.runner.run();
  t.is(report.upserted, 250);
  t.is(w.fake.bulk.created.length, 0);
  t.deepEqual(w.fake.calls.map((c) => c.path.replace(/01gFK\d+/, 'LOC')), ['/query', '/query', '/query/LOC-200']);
  t.is(w.fake.calls[0]!.soql, 'SELECT COUNT() FROM Account');
  t.regex(w.fake.calls[1]!.soql!, /ORDER BY SystemModstamp ASC, Id ASC$/);
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
});

test('a query job that ends Failed fails that run saying so; the next run starts a new job and completes', async (t) => {
  const w = await salesforceSync(t, { env: BULK });
  createAccounts(w.fake, 300);
  w.fake.bulk.failNextJob('Failed');
  const err = await t.throwsAsync(w.runner.run());
  t.is((err as { code?: string }).code, ErrorCode.SyncSourceFailed);
  t.regex((err as Error).message, /Bulk API 2\.0 query job 750FK\d{10}AAA of sync source salesforce ended Failed; the next run starts a new job/);
  t.is((await w.store.statusOf('salesforce')).lastError, ErrorCode.SyncSourceFailed);
  t.is((await storedIds(w.conn)).length, 0);
  const report = await w.runner.run();
  t.is(report.upserted, 300);
  t.is(w.fake.bulk.created.length, 2, 'a new job');
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
  // A fresh process on a cursor whose job failed starts a new job too (the failure was reported by the one that saw it).
  w.fake.bulk.failNextJob('Aborted');
  const again = await t.throwsAsync(w.runnerOf().run({ full: true }));
  t.regex((again as Error).message, /ended Aborted/);
  const last = await w.runnerOf().run();
  t.is(last.upserted, 0);
  t.true(last.unchanged >= 300, 'the next run re-read everything through a new job, unchanged');
  t.is(w.fake.bulk.created.length, 4);
});

test('a job gone mid-download (404 NOT_FOUND) is replaced by a new one: nothing lost or doubled', async (t) => {
  const w = await salesforceSync(t, { env: BULK, fake: { dailyLimit: 10_000 } });
  createAccounts(w.fake, 450);
  let sets = 0;
  // The third result set request runs into the daily limit: the run stops with two sets stored.
  w.fake.onRequest = (c) => { if (c.path.endsWith('/results') && ++sets === 3) w.fake.exhaustQuota(); };
  const err = await t.throwsAsync(w.runner.run());
  t.is((err as { code?: string }).code, ErrorCode.SyncBudgetExhausted);
  t.is((await storedIds(w.conn)).length, 400);
  const stopped = decodeBulkCursor((await w.store.statusOf('salesforce')).cursor!);
  t.like(stopped, { state: 'open', locator: 'NDAw' }, 'the cursor holds the locator of the set to read next');
  w.fake.onRequest = null;
  w.fake.restoreQuota();
  w.fake.bulk.expireJobs();
  const report = await w.runnerOf().run();
  t.is(w.fake.bulk.created.length, 2, 'a new job after the 404');
  t.is(w.fake.calls.filter((c) => c.status === 404).length, 1);
  t.is(report.upserted, 50, 'only what the first job had not brought');
  t.true(report.unchanged >= 400, 'the rest applied again, unchanged');
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
  t.is(await w.conn.collection('sync_links').countDocuments(), 450);
});

test('a change made after the job\'s query ran is read by the incremental SOQL that follows; a deletion by getDeleted from the backfill\'s start', async (t) => {
  const w = await salesforceSync(t, { env: BULK });
  const ids = createAccounts(w.fake, 300);
  let sets = 0;
  w.fake.onRequest = (c) => {
    if (!c.path.endsWith('/results') || ++sets !== 1) return;
    // The job's results are fixed by now: an update and a deletion they do not show.
    w.fake.update(ids[7]!, { Phone: '13911112222' });
    w.fake.remove(ids[8]!);
  };
  const first = await w.runner.run();
  w.fake.onRequest = null;
  t.is(first.upserted, 301, 'the 300 of the job (the deleted account too: its results still had it), then the update');
  t.is((await w.customers.get(customerIdOf(w.fake, ids[7]!)))!.phone, '13911112222', 'the update, through the SOQL after the job');
  w.clock.jump(2 * MINUTE);
  const next = await w.runner.run();
  t.is(next.deleted, 1, 'getDeleted from the backfill\'s start finds the deletion');
  t.deepEqual(await storedIds(w.conn), fakeIds(w.fake));
});
