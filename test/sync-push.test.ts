// The push API on the bot's HTTP server: signed JSON Lines batches (HMAC-SHA256 over v0:timestamp:body,
// five-minute window), idempotent by batch id, per-line results; and a forgery battery of generated
// requests that must all get 401 with nothing stored, claimed or audited.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { closeServer, createHttpServer, listen } from '../bot/http/server.ts';
import { createLogger } from '../bot/logger.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { StoreCustomerRevoker } from '../bot/sync/customer-revoker.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { PushOnlyConnector } from '../bot/sync/push-connector.ts';
import { PUSH_PATH, pushRoutes, STALE_CLAIM_MS } from '../bot/sync/push-route.ts';
import { pushSignature } from '../bot/sync/push-signature.ts';
import { SyncRunner } from '../bot/sync/runner.ts';
import { RecordingAudit } from './helpers/sync-model-source.ts';
import { syncDatabase } from './helpers/sync-db.ts';

const SECRET = 'erp-secret-0123456789abcdef0123456789abcdef';
const OTHER_SECRET = 'crm-secret-0123456789abcdef0123456789abcdef';
const NOW = new Date('2026-06-01T08:00:00Z');
const TS = String(NOW.getTime() / 1000);
const mapping = { ...parseMapping(readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8')), source: 'erp' };
const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 9) }], blindIndexKey: Buffer.alloc(32, 10) });
const FORGERY_COUNT = Number(process.env.SYNC_FORGERY_COUNT ?? 520);

/** Records every event, and fails the sync.run records it is told to after recording them (an enqueue that timed out after Redis took the job). */
class AmbiguousAudit extends RecordingAudit {
  failRuns = 0;
  override async record(event: Parameters<RecordingAudit['record']>[0]): Promise<void> {
    await super.record(event);
    if (event.action === 'sync.run' && this.failRuns > 0) { this.failRuns--; throw new Error('audit queue unavailable: no answer within 500 ms'); }
  }
}

async function setup(t: ExecutionContext) {
  const { db, store, grants, requests } = await syncDatabase(t, import.meta.url);
  const customers = new CustomerStore(db.conn, cipher);
  const audit = new AmbiguousAudit();
  const clock = { now: () => NOW };
  const deps = {
    customers, store, recorder: audit, clock, employees: { byEmail: async (e: string) => (e === 'ann@example.com' ? { employeeId: 'E-0001' } : null) },
    revoker: new StoreCustomerRevoker(grants, requests),
  };
  const logger = createLogger({ level: 'silent' });
  const routes = pushRoutes([
    { source: 'erp', secret: SECRET, runner: new SyncRunner(deps, new PushOnlyConnector('erp'), mapping) },
    { source: 'crm', secret: OTHER_SECRET, runner: new SyncRunner(deps, new PushOnlyConnector('crm'), { ...mapping, source: 'crm' }) },
  ], { store, clock, logger });
  const server = createHttpServer({ routes, readiness: [], logger });
  const address: AddressInfo = await listen(server, '127.0.0.1', 0);
  t.teardown(() => closeServer(server, 100));
  const url = (source = 'erp') => `http://127.0.0.1:${address.port}${PUSH_PATH(source)}`;
  return { conn: db.conn, store, customers, audit, url };
}

function signed(body: string, batchId: string, opts: { secret?: string; ts?: string } = {}): RequestInit {
  const ts = opts.ts ?? TS;
  return { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', 'x-custos-request-timestamp': ts, 'x-custos-signature': pushSignature(opts.secret ?? SECRET, ts, Buffer.from(body)), 'x-custos-batch-id': batchId } };
}

const upsert = (id: string, n: string, extra: Record<string, unknown> = {}) => JSON.stringify({ op: 'upsert', id, fields: { Number__c: n, Name: '推送客户', Region__c: 'CN-N', Owner: { Email: 'ann@example.com' }, ...extra } });

test('a signed batch is applied with per-line results, and the same batch id again applies nothing', async (t) => {
  const w = await setup(t);
  const body = [upsert('ERP-1', '101'), upsert('ERP-2', '102', { Phone: 'not a phone' }), 'not json', JSON.stringify({ op: 'merge', id: 'x' }), upsert('ERP-3', '103'), ''].join('\n');
  const res = await fetch(w.url(), signed(body, 'batch-1'));
  t.is(res.status, 200);
  const out = await res.json() as { replayed: boolean; results: { line: number; status: string; id?: string; problems?: { field: string }[] }[] };
  t.false(out.replayed);
  t.deepEqual(out.results.map((r) => [r.line, r.status, r.id ?? null]), [[1, 'upserted', 'ERP-1'], [2, 'rejected', 'ERP-2'], [3, 'invalid', null], [4, 'invalid', null], [5, 'upserted', 'ERP-3']]);
  t.deepEqual(out.results[1]!.problems!.map((p) => p.field), ['phone']);
  t.false(JSON.stringify(out).includes('not a phone'), 'a rejection never repeats the value');
  t.is(await w.customers.model.countDocuments(), 2);
  const run = w.audit.events.find((e) => e.action === 'sync.run')!;
  t.like(run.meta, { source: 'erp', upserted: 2, rejected: 1 });

  await w.customers.remove('C-000101'); // so a second application would be visible
  const again = await fetch(w.url(), signed(body, 'batch-1'));
  const replay = await again.json() as { replayed: boolean; results: unknown[] };
  t.true(replay.replayed);
  t.deepEqual(replay.results, out.results);
  t.is(await w.customers.get('C-000101'), null, 'the replayed batch was not applied again');

  const del = await fetch(w.url(), signed(JSON.stringify({ op: 'delete', id: 'ERP-3' }), 'batch-2'));
  t.deepEqual(((await del.json()) as { results: unknown[] }).results, [{ line: 1, id: 'ERP-3', status: 'deleted' }]);
  t.is(await w.customers.get('C-000103'), null);
  t.truthy(await w.store.tombstoned('C-000103'));
});

test('a batch whose claim was cut short (its bot died mid-apply) is "being applied" for a while, then a retry takes it over and applies it once', async (t) => {
  const w = await setup(t);
  const body = upsert('ERP-9', '109');
  // A bot claimed these batches and died before it stored a result: one just now, one long ago.
  t.true(await w.store.claimDelivery('erp', 'push:cut-recent', new Date(NOW.getTime() - 60_000)));
  t.true(await w.store.claimDelivery('erp', 'push:cut-long-ago', new Date(NOW.getTime() - STALE_CLAIM_MS - 1000)));
  const recent = await fetch(w.url(), signed(body, 'cut-recent'));
  t.is(recent.status, 409, 'a claim younger than the stale limit may still be applying');
  t.is(await w.customers.get('C-000109'), null);
  // Two retries of the stale batch at once (two bots behind a load balancer): one takes it over and applies it.
  const retries = await Promise.all([fetch(w.url(), signed(body, 'cut-long-ago')), fetch(w.url(), signed(body, 'cut-long-ago'))]);
  const answers = await Promise.all(retries.map(async (r) => ({ status: r.status, body: await r.json() as { replayed?: boolean } })));
  t.is(answers.filter((a) => a.status === 200 && a.body.replayed === false).length, 1, 'exactly one retry applied it');
  t.true(answers.every((a) => a.status === 409 || a.status === 200), JSON.stringify(answers));
  t.truthy(await w.customers.get('C-000109'));
  t.is(w.audit.events.filter((e) => e.action === 'sync.run').length, 1, 'applied once: one sync.run');
  const replay = await (await fetch(w.url(), signed(body, 'cut-long-ago'))).json() as { replayed: boolean };
  t.true(replay.replayed, 'after the take-over the batch answers its result again');
});

test('a batch applied again (its first answer lost after the audit took its event) records the same sync.run event id: the audit log keeps one', async (t) => {
  const w = await setup(t);
  await fetch(w.url(), signed(upsert('ERP-5', '105'), 'seed'));
  const body = [upsert('ERP-6', '106'), JSON.stringify({ op: 'delete', id: 'ERP-5' })].join('\n');
  const seen = w.audit.events.length;
  w.audit.failRuns = 1;
  t.is((await fetch(w.url(), signed(body, 'lost-answer'))).status, 500, 'the first application could not confirm its audit');
  const retry = await fetch(w.url(), signed(body, 'lost-answer'));
  t.is(retry.status, 200);
  t.false(((await retry.json()) as { replayed: boolean }).replayed, 'the claim was given back, so the retry applied the batch');
  const recorded = w.audit.events.slice(seen);
  const ids = (action: string) => recorded.filter((e) => e.action === action).map((e) => e.eventId);
  t.is(ids('sync.run').length, 2);
  t.is(new Set(ids('sync.run')).size, 1, 'both applications of the batch recorded one sync.run event id');
  t.deepEqual(ids('sync.delete').length, 1, 'the deletion was done (and audited) once: the retry found the record gone');
  t.truthy(await w.customers.get('C-000106'));
  t.is(await w.customers.get('C-000105'), null);
  const other = await fetch(w.url(), signed(body, 'another-batch'));
  t.is(other.status, 200);
  t.not(w.audit.events.at(-1)!.eventId, ids('sync.run')[0], 'another batch id, another sync.run');
});

test('a batch without a batch id is refused after the signature check, nothing applied', async (t) => {
  const w = await setup(t);
  const init = signed(upsert('ERP-9', '109'), 'x');
  delete (init.headers as Record<string, string>)['x-custos-batch-id'];
  const res = await fetch(w.url(), init);
  t.is(res.status, 400);
  t.regex(((await res.json()) as { error: string }).error, /x-custos-batch-id is required/);
  t.is(await w.customers.model.countDocuments(), 0);
});

const good = (body: string) => signed(body, 'forged');
const withHeaders = (body: string, patch: Record<string, string | undefined>): RequestInit => {
  const init = good(body);
  const headers = { ...(init.headers as Record<string, string>) };
  for (const [k, v] of Object.entries(patch)) { if (v === undefined) delete headers[k]; else headers[k] = v; }
  return { ...init, headers };
};
const FORGERIES: [string, (body: string, n: number) => RequestInit & { target?: string }][] = [
  ['wrong secret', (b) => signed(b, 'f', { secret: 'x'.repeat(40) })],
  ['another source\'s secret', (b) => signed(b, 'f', { secret: OTHER_SECRET })],
  ['signed for this source, sent to the other one', (b) => ({ ...good(b), target: 'crm' })],
  ['stale by more than five minutes', (b, n) => signed(b, 'f', { ts: String(Number(TS) - 301 - n) })],
  ['from the future by more than five minutes', (b, n) => signed(b, 'f', { ts: String(Number(TS) + 301 + n) })],
  ['body changed after signing', (b) => ({ ...good(b), body: `${b} ` })],
  ['timestamp changed after signing', (b) => withHeaders(b, { 'x-custos-request-timestamp': String(Number(TS) + 1) })],
  ['no signature', (b) => withHeaders(b, { 'x-custos-signature': undefined })],
  ['no timestamp', (b) => withHeaders(b, { 'x-custos-request-timestamp': undefined })],
  ['signature without v0=', (b) => withHeaders(b, { 'x-custos-signature': pushSignature(SECRET, TS, Buffer.from(b)).slice(3) })],
  ['upper-cased signature', (b) => withHeaders(b, { 'x-custos-signature': pushSignature(SECRET, TS, Buffer.from(b)).toUpperCase() })],
  ['truncated signature', (b, n) => withHeaders(b, { 'x-custos-signature': pushSignature(SECRET, TS, Buffer.from(b)).slice(0, 10 + (n % 50)) })],
  ['one hex digit flipped', (b, n) => {
    const s = pushSignature(SECRET, TS, Buffer.from(b));
    const i = 3 + (n % 64);
    return withHeaders(b, { 'x-custos-signature': s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1) });
  }],
  ['timestamp not a number', (b) => withHeaders(b, { 'x-custos-request-timestamp': `${TS}.5` })],
  ['empty signature', (b) => withHeaders(b, { 'x-custos-signature': '' })],
];

test(`forgery battery: ${FORGERY_COUNT} forged or stale pushes all get 401 and change nothing`, async (t) => {
  const w = await setup(t);
  const bodies = fc.sample(fc.array(fc.constantFrom(upsert('ERP-1', '101'), upsert('ERP-2', '202'), JSON.stringify({ op: 'delete', id: 'ERP-1' })), { minLength: 1, maxLength: 4 }).map((l) => l.join('\n')), { numRuns: FORGERY_COUNT, seed: 15 });
  const statuses = new Map<string, number[]>();
  for (let i = 0; i < FORGERY_COUNT; i += 20) {
    await Promise.all(bodies.slice(i, i + 20).map(async (body, j) => {
      const n = i + j;
      const [name, forge] = FORGERIES[n % FORGERIES.length]!;
      const { target, ...init } = forge(body, n);
      const res = await fetch(w.url(target), init);
      await res.arrayBuffer();
      statuses.set(name, [...(statuses.get(name) ?? []), res.status]);
    }));
  }
  for (const [name, list] of statuses) t.true(list.every((s) => s === 401), `${name}: ${[...new Set(list)].join(',')}`);
  t.is([...statuses.values()].flat().length, FORGERY_COUNT);
  t.is(await w.customers.model.countDocuments(), 0, 'no customer written');
  t.is(await w.conn.collection('sync_deliveries').countDocuments(), 0, 'no batch id claimed');
  t.is(await w.conn.collection('sync_links').countDocuments(), 0);
  t.is(w.audit.events.length, 0, 'nothing audited as applied');
  t.is(await w.conn.collection('sync_status').countDocuments(), 0);
  // The control: the same body correctly signed is accepted.
  t.is((await fetch(w.url(), signed(bodies[0]!, 'real'))).status, 200);
});
