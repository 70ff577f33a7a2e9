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
import type { FakeZoho } from './fakes/zoho.ts';
import { CHANNEL_TOKEN, startFakeZoho, zohoEnv, zohoMapping } from './helpers/zoho-harness.ts';

async function setup(t: ExecutionContext, env: Record<string, string> = {}, limits: Parameters<typeof startFakeZoho>[1] = {}) {
  const clock = new SuiteClock();
  const fake = await startFakeZoho(clock, limits);
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

/** Walks GET /Accounts by page_token as custos did before, straight against the fake: where does it stop? */
async function pageTokenWalk(fake: FakeZoho): Promise<{ read: number; refusal: { status: number; body: unknown } | null }> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: fake.opts.clientId, client_secret: fake.opts.clientSecret, refresh_token: fake.opts.refreshToken });
  const { access_token: token } = await (await fetch(`${fake.url}/oauth/v2/token`, { method: 'POST', body: form })).json() as { access_token: string };
  let read = 0;
  let pageToken: string | null = null;
  do {
    const url = new URL(`${fake.url}/crm/v8/Accounts`);
    for (const [k, v] of Object.entries({ fields: 'id', per_page: '200', sort_by: 'id', sort_order: 'asc', ...(pageToken ? { page_token: pageToken } : {}) })) url.searchParams.set(k, v);
    const res = await fetch(url, { headers: { authorization: `Zoho-oauthtoken ${token}` } });
    const body = await res.json() as { data?: unknown[]; info?: { next_page_token?: string | null; more_records?: boolean } };
    if (res.status !== 200) return { read, refusal: { status: res.status, body } };
    read += body.data?.length ?? 0;
    pageToken = body.info?.more_records ? body.info.next_page_token ?? null : null;
  } while (pageToken);
  return { read, refusal: null };
}

// Zoho's page tokens reach 100,000 records; the fake takes the limit as a parameter (2,000 here) so the test
// stays small, and refuses past it as Zoho does. Reconciliation lists ids through COQL's id keyset instead.
test('reconciliation lists every id of a module larger than the page-token limit, by COQL id keyset, a 429 waited out on the way', async (t) => {
  const w = await setup(t, {}, { pageTokenLimit: 2000, coqlOffsetLimit: 2000 });
  const all = w.seed(4500);
  const walk = await pageTokenWalk(w.fake);
  t.is(walk.read, 2000, 'the page-token walk stops at the limit');
  t.deepEqual(walk.refusal, { status: 400, body: { code: 'PAGINATION_LIMIT_EXCEEDED', details: { param_name: 'page_token', limit: 2000 }, message: 'pagination limit exceeded', status: 'error' } });

  const before = w.fake.calls.length;
  const listed: string[] = [];
  let pages = 0;
  for await (const ids of w.connector.listLiveIds()) {
    listed.push(...ids);
    if (++pages === 1) w.fake.busy(1); // the next page meets the concurrency limit once
  }
  t.deepEqual(listed, [...all].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)), 'every id once, in id order');
  const coql = w.fake.calls.filter((c) => c.path === '/crm/v8/coql');
  t.deepEqual(coql.map((c) => c.status), [200, 429, 200, 200]);
  const queries = coql.map((c) => (JSON.parse(c.body!) as { select_query: string }).select_query);
  t.is(queries[0], 'select id from Accounts where id is not null order by id asc limit 2000');
  t.is(queries[1], `select id from Accounts where id > '${listed[1999]}' order by id asc limit 2000`);
  t.is(queries[2], queries[1], 'the refused page is asked again from the same id');
  t.is(queries[3], `select id from Accounts where id > '${listed[3999]}' order by id asc limit 2000`);
  t.true(w.fake.calls.slice(before).every((c) => c.path === '/crm/v8/coql' || c.path === '/oauth/v2/token'), 'no page token, no offset: nothing for Zoho to refuse');
  t.is(w.sleeps.filter((ms) => ms > 10).length, 1, 'the 429 backed off through the rate budget');
});

test('a backfill past the page-token limit goes on from the last Modified_Time read, and reads every record', async (t) => {
  const w = await setup(t, { CUSTOS_SYNC_ZOHO_PER_PAGE: '200' }, { pageTokenLimit: 2000 });
  const all: string[] = [];
  for (let i = 0; i < 45; i++) { all.push(...w.seed(100)); w.clock.advance(1000); } // a hundred records a second
  const seen = new Set<string>();
  let page = await w.connector.readChanges(null);
  for (let n = 0; ; n++) {
    for (const c of page.changes) seen.add(c.sourceId);
    if (page.done || n > 200) break;
    page = await w.connector.readChanges(page.nextCursor);
  }
  t.true(page.done);
  t.deepEqual([...seen].sort(), [...all].sort(), 'every record read');
  const refused = w.fake.calls.filter((c) => c.status === 400);
  t.is(refused.length, 2, 'the limit was met twice (4,500 records, 2,000 a walk)');
  t.true(refused.every((c) => (c.answer as { code: string }).code === 'PAGINATION_LIMIT_EXCEEDED'));
  const restarts = w.fake.calls.filter((c, i) => i > 0 && w.fake.calls[i - 1]!.status === 400);
  t.true(restarts.every((c) => c.query.page_token === undefined && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/.test(c.ifModifiedSince ?? '')));
});
