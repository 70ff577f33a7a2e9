// Freshness on lookup cards: a customer a CRM source synced says where its data comes from and as of
// when (the source's last good run, on the reader's clock); an imported customer's card says nothing of it.
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { lookupResultView } from '../bot/core/views.ts';
import { SyncFreshness } from '../bot/sync/freshness.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { SlackHarness, messageText } from './helpers/slack-bot.ts';

const h = new SlackHarness(import.meta.url, { customers: 40 });
test.before(() => h.start());
test.after.always(() => h.close());

const counts = { upserted: 1, unchanged: 0, deleted: 0, rejected: 0 };

test('a synced customer\'s card says "as of … from Salesforce"; an imported one\'s does not', async (t) => {
  const all: Customer[] = [];
  for await (const c of h.customers.stream({})) all.push(c);
  const [synced, imported] = all.filter((c) => c.region === 'east' && c.status !== 'blocked');
  const store = new SyncStore(h.bot.conn);
  await store.ensureIndexes();
  await store.link('salesforce', [{ sourceId: '001A', customerId: synced!.customerId }]);
  await store.recordRun('salesforce', new Date('2026-06-01T06:05:00Z'), counts, null, 'Salesforce');
  // A failed run later does not make the data fresher: the card keeps the last good run's time.
  await store.recordRun('salesforce', new Date('2026-06-01T06:10:00Z'), counts, 'SYNC_SOURCE_FAILED', 'Salesforce');

  const card = await h.ask(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), synced!.customerId);
  t.regex(messageText(card.body), /数据截至 2026-06-01 14:05 \(Asia\/Shanghai\)（来自 Salesforce）/);
  const plain = await h.ask(h.userId('salesLeadEast'), h.dmOf('salesLeadEast'), imported!.customerId);
  t.true(messageText(plain.body).includes(imported!.customerId));
  t.false(messageText(plain.body).includes('数据截至'));
});

test('the freshness line in English, on the reader\'s clock, as one footer line every renderer shows', (t) => {
  const result = { kind: 'card' as const, eventId: 'ev1', shareable: false, customer: { customerId: 'C-000001', fields: [], freshness: { source: '简道云', at: new Date('2026-06-01T06:05:00Z') } } };
  const en = lookupResultView(result, 'en', 'Europe/London');
  t.is(en.kind, 'card');
  if (en.kind === 'card') t.is(en.footer.split('\n')[0], 'As of 2026-06-01 07:05 (Europe/London) from 简道云');
  const none = lookupResultView({ ...result, customer: { customerId: 'C-000001', fields: [] } }, 'en', 'Europe/London');
  if (none.kind === 'card') t.false(none.footer.includes('As of'));
});

test('the name on cards: the mapping\'s label, else the connector\'s product name, else the source', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { parseMapping } = await import('../bot/sync/mapping.ts');
  const { SyncRunner } = await import('../bot/sync/runner.ts');
  const { ModelSource } = await import('./helpers/sync-model-source.ts');
  const yaml = readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8');
  const runner = (text: string, source = 'model') => new SyncRunner({} as never, new ModelSource(source), parseMapping(text));
  t.is(runner(`label: 华东 CRM\n${yaml}`).label, '华东 CRM');
  t.is(runner(`connector: jiandaoyun\n${yaml}`).label, '简道云');
  t.is(runner(yaml).label, 'model');
});

// The cache that keeps the freshness line off the hot path: counted reads on a store double.
function countingStore(successes: Map<string, { source: string; at: Date }>, links: Record<string, string>) {
  const reads = { statuses: 0, links: 0 };
  return {
    reads,
    lastSuccesses: async () => { reads.statuses++; return new Map(successes); },
    sourceOfCustomer: async (id: string) => { reads.links++; return links[id] ?? null; },
  };
}

test('while no source has ever synced, lookups read nothing for freshness beyond one status read per interval', async (t) => {
  let now = 0;
  const store = countingStore(new Map(), { 'C-000001': 'salesforce' });
  const freshness = new SyncFreshness(store, 5_000, () => now);
  await Promise.all(Array.from({ length: 50 }, () => freshness.freshnessOf('C-000001')));
  for (let i = 0; i < 50; i++) t.is(await freshness.freshnessOf('C-000001'), null);
  t.deepEqual(store.reads, { statuses: 1, links: 0 }, 'one shared status read, no link read');
  now += 5_001;
  await freshness.freshnessOf('C-000001');
  t.is(store.reads.statuses, 2, 'refreshed after the interval');
});

test('once a source has run, one link read per lookup; the source\'s name and last run come from memory', async (t) => {
  const at = new Date('2026-06-01T06:05:00Z');
  const store = countingStore(new Map([['salesforce', { source: 'Salesforce', at }]]), { 'C-000001': 'salesforce', 'C-000002': 'gone' });
  const freshness = new SyncFreshness(store, 5_000, () => 0);
  t.deepEqual(await freshness.freshnessOf('C-000001'), { source: 'Salesforce', at });
  t.is(await freshness.freshnessOf('C-000002'), null, 'linked to a source without a good run');
  t.is(await freshness.freshnessOf('C-000003'), null, 'imported');
  t.deepEqual(store.reads, { statuses: 1, links: 3 });
});
