// The Zoho CRM connector's own behaviour against the fake org (test/fakes/zoho.ts), beyond the shared
// suite (test/sync-suite-zoho.test.ts): settings, the refresh-token flow and token expiry, the watch
// channel subscribed and renewed before it lapses, 429s waited out, expired page tokens, and what
// crosses the wire (only the mapped fields, If-Modified-Since on incremental scans).
import test, { type ExecutionContext } from 'ava';
import { createLogger } from '../bot/logger.ts';
import { RateBudget } from '../bot/sync/rate-budget.ts';
import type { ConnectorContext } from '../bot/sync/setup.ts';
import type { ZohoConnector } from '../bot/sync/zoho/connector.ts';
import { zohoConnector } from '../bot/sync/zoho/index.ts';
import { loadZohoSettings } from '../bot/sync/zoho/settings.ts';
import { SuiteClock } from './helpers/connector-suite.ts';
import { CHANNEL_TOKEN, startFakeZoho, zohoEnv, zohoMapping } from './helpers/zoho-harness.ts';

async function setup(t: ExecutionContext, env: Record<string, string> = {}) {
  const clock = new SuiteClock();
  const fake = await startFakeZoho(clock);
  t.teardown(() => fake.close());
  const sleeps: number[] = [];
  const ctx = (): ConnectorContext => ({
    source: 'zoho', mapping: zohoMapping, env: zohoEnv(fake, env), clock, logger: createLogger({ level: 'silent' }),
    budget: (perSecond) => new RateBudget({ source: 'zoho', perSecond, share: 1, clock, random: () => 0.5, sleep: async (ms) => { sleeps.push(ms); clock.advance(ms); } }),
  });
  const connector = zohoConnector(ctx()) as ZohoConnector;
  const seed = (n: number) => Array.from({ length: n }, (_, i) => fake.create({ Account_Name: `Account ${i}`, Account_Number: String(500 + i), Phone: '13900000000', Region: 'East China', ownerEmail: 'ann@example.com' }));
  return { clock, fake, connector, sleeps, seed };
}

/** Within a second: the rate budget's pacing moves the clock by a millisecond a call. */
const near = (a: number, b: number) => Math.abs(a - b) < 1000;
const tokenCalls = (fake: { calls: { path: string }[] }) => fake.calls.filter((c) => c.path === '/oauth/v2/token').length;

test('settings: every problem at once, named by its setting; the data centre is any Zoho accounts server', (t) => {
  const err = t.throws(() => loadZohoSettings('zoho-cn', {
    CUSTOS_SYNC_ZOHO_CN_ACCOUNTS_URL: 'https://accounts.example.com', CUSTOS_SYNC_ZOHO_CN_PER_PAGE: '500',
    CUSTOS_SYNC_ZOHO_CN_NOTIFY_URL: 'https://custos.example.com/sync/v1/zoho-cn/webhook',
  }));
  for (const s of ['ACCOUNTS_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'REFRESH_TOKEN', 'PER_PAGE', 'CHANNEL_ID', 'CHANNEL_TOKEN']) t.true(err.message.includes(`CUSTOS_SYNC_ZOHO_CN_${s}`), s);
  const ok = loadZohoSettings('zoho-cn', { CUSTOS_SYNC_ZOHO_CN_ACCOUNTS_URL: 'https://accounts.zoho.com.cn', CUSTOS_SYNC_ZOHO_CN_CLIENT_ID: 'id', CUSTOS_SYNC_ZOHO_CN_CLIENT_SECRET: 's', CUSTOS_SYNC_ZOHO_CN_REFRESH_TOKEN: 'r' });
  t.is(ok.accountsUrl, 'https://accounts.zoho.com.cn');
  t.is(ok.channel, null, 'no notify URL: no channel, polling only');
  t.is(ok.perPage, 200);
});

test('sign-in: the refresh token gives an access token and the api_domain; a wrong one is a clear error without the secret', async (t) => {
  const w = await setup(t, { CUSTOS_SYNC_ZOHO_REFRESH_TOKEN: '1000.not-the-refresh-token' });
  w.seed(1);
  const err = await t.throwsAsync(w.connector.readChanges(null));
  t.regex(err.message, /Zoho refused custos's sign-in for sync source zoho \(invalid_code\)/);
  t.false(err.message.includes('not-the-refresh-token'));
});

test('an access token is fetched again before it expires, and once more when Zoho answers INVALID_TOKEN', async (t) => {
  const w = await setup(t);
  w.seed(3);
  await w.connector.readChanges(null);
  t.is(tokenCalls(w.fake), 1);
  w.clock.advance(56 * 60_000); // past the hour minus the five-minute margin
  await w.connector.readChanges(null);
  t.is(tokenCalls(w.fake), 2);
  w.fake.expireTokens(); // revoked early
  const page = await w.connector.readChanges(null);
  t.is(page.changes.length, 3);
  t.is(tokenCalls(w.fake), 3);
  t.is(w.fake.calls.filter((c) => c.status === 401).length, 1, 'one INVALID_TOKEN, then the call repeated with a new token');
});

test('the watch channel is subscribed on the first read and renewed once a third of its hour is left; a lost channel is subscribed again', async (t) => {
  const w = await setup(t);
  await w.connector.readChanges(null);
  const first = w.fake.channel!;
  t.is(first.channel_id, '1000000068001');
  t.is(first.token, CHANNEL_TOKEN);
  t.deepEqual(first.events, ['Accounts.all']);
  t.true(near(first.expiry, w.clock.now().getTime() + 3600_000));
  w.clock.advance(30 * 60_000);
  await w.connector.readChanges(null);
  t.is(w.fake.channel!.expiry, first.expiry, 'half an hour left: not renewed yet');
  w.clock.advance(15 * 60_000);
  await w.connector.readChanges(null);
  t.true(near(w.fake.channel!.expiry, w.clock.now().getTime() + 3600_000), 'fifteen minutes left: renewed');
  t.is(w.fake.calls.filter((c) => c.path === '/crm/v8/actions/watch').map((c) => c.method).join(), 'POST,PATCH');
  w.fake.channel = null; // Zoho dropped it
  w.clock.advance(45 * 60_000);
  await w.connector.readChanges(null);
  t.truthy(w.fake.channel, 'subscribed again after PATCH was refused');
  t.is(w.fake.calls.filter((c) => c.path === '/crm/v8/actions/watch').map((c) => `${c.method} ${c.status}`).slice(-2).join(), 'PATCH 400,POST 201');
});

test('429 (the concurrency limit) is waited out with back-off; the read then completes', async (t) => {
  const w = await setup(t);
  w.seed(2);
  w.fake.busy(2);
  const page = await w.connector.readChanges(null);
  t.is(page.changes.length, 2);
  t.is(w.sleeps.filter((ms) => ms > 10).length, 2, 'two back-offs (the rest is the pacing of a millisecond)');
  t.is(w.fake.calls.filter((c) => c.status === 429).length, 2);
});

test('incremental scans send If-Modified-Since and ask for the mapped fields only; an expired page token restarts the scan', async (t) => {
  const w = await setup(t);
  w.seed(120);
  const p1 = await w.connector.readChanges(null);
  t.is(p1.changes.length, 50);
  t.false(p1.done);
  const list = w.fake.calls.find((c) => c.path === '/crm/v8/Accounts')!;
  t.is(list.query.fields, 'id,Modified_Time,Account_Number,Owner,Account_Name,Region,Phone');
  t.is(list.query.sort_by, 'Modified_Time');
  t.is(list.ifModifiedSince, undefined, 'a backfill reads everything');
  w.clock.advance(25 * 3600_000); // page tokens live a day
  const p2 = await w.connector.readChanges(p1.nextCursor);
  t.deepEqual(p2.changes.map((c) => c.sourceId), p1.changes.map((c) => c.sourceId), 'the scan restarted from its beginning');
  t.true(w.fake.calls.some((c) => c.status === 400 && c.query.page_token !== undefined));
  let page = p2;
  while (!page.done) page = await w.connector.readChanges(page.nextCursor);
  const later = await w.connector.readChanges(page.nextCursor);
  const incremental = w.fake.calls.filter((c) => c.path.startsWith('/crm/v8/Accounts')).at(-1)!;
  t.regex(incremental.ifModifiedSince ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
  t.is(incremental.path, '/crm/v8/Accounts/deleted', 'each scan reads its deletions first');
  t.false(later.done);
});

test('describeFields lists the module\'s fields from field metadata', async (t) => {
  const w = await setup(t);
  const fields = await w.connector.describeFields();
  t.deepEqual(fields.find((f) => f.name === 'Account_Number'), { name: 'Account_Number', type: 'text' });
  t.is(w.fake.calls.at(-1)!.query.module, 'Accounts');
});
