// 简道云 runs the framework's shared connector suite (test/helpers/connector-suite.ts) unchanged, against
// the fake 简道云 (test/fakes/jiandaoyun.ts) with signed 数据推送 deliveries to custos's webhook route.
import { readFileSync } from 'node:fs';
import { jiandaoyunConnector } from '../bot/sync/jiandaoyun/index.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { FakeJiandaoyun } from './fakes/jiandaoyun.ts';
import { connectorSuite, type Region, type SuiteRecord } from './helpers/connector-suite.ts';

const API_KEY = 'jdy-api-key-0123456789abcdef0123';
const APP_ID = '59264073a2a60c0c08e20bfb';
const ENTRY_ID = '59264073a2a60c0c08e20bfd';
const SECRET = 'jdy-webhook-secret-0123456789';
const REGION: Record<Region, string> = { north: '华北', east: '华东', south: '华南' };
const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/jiandaoyun.yaml', import.meta.url), 'utf8'));
const OP = { create: 'data_create', update: 'data_update', delete: 'data_remove' } as const;

const fields = (r: SuiteRecord) => ({ number: String(r.number), name: r.name, region: REGION[r.region], tier: 'A', phone: r.phone, owner: r.ownerEmail });

let deliveries = 0;
connectorSuite({
  source: 'jiandaoyun', factory: jiandaoyunConnector, mapping, pageSize: 100, deletionsInIncremental: false,
  async start(clock) {
    const fake = new FakeJiandaoyun({ apiKey: API_KEY, appId: APP_ID, entryId: ENTRY_ID, clock });
    const url = await fake.start();
    return {
      env: {
        CUSTOS_SYNC_JIANDAOYUN_API_URL: url, CUSTOS_SYNC_JIANDAOYUN_API_KEY: API_KEY, CUSTOS_SYNC_JIANDAOYUN_APP_ID: APP_ID,
        CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: ENTRY_ID, CUSTOS_SYNC_JIANDAOYUN_WEBHOOK_SECRET: SECRET,
      },
      create: (r) => fake.create(fields(r)),
      update: (id, p) => fake.update(id, { ...(p.name ? { name: p.name } : {}), ...(p.region ? { region: REGION[p.region] } : {}), ...(p.phone ? { phone: p.phone } : {}) }),
      moveOwner: (id, email) => fake.update(id, { owner: email }),
      remove: (id) => fake.remove(id),
      removeUnseen: (id) => fake.remove(id), // 简道云 lists no deletions at all
      settle: () => clock.advance(120_000), // past the one-minute window margin
      exhaustQuota: () => fake.exhaust(1_000_000),
      restoreQuota: () => fake.exhaust(0),
      notification: (ids, op) => {
        const deliverId = `suite-${++deliveries}`;
        return { send: (hook) => fake.deliver(hook, SECRET, OP[op], ids[0]!, { deliverId }) };
      },
      forgeries: (ids) => [
        { send: (hook) => fake.deliver(hook, 'not-the-secret-0123456789', 'data_update', ids[0]!) },
        { send: (hook) => fake.deliver(hook, SECRET, 'data_update', ids[0]!, { tamper: (d) => { d.body = d.body.replace('data_update', 'data_create'); } }) },
        { send: (hook) => fake.deliver(hook, SECRET, 'data_update', ids[0]!, { timestamp: Math.floor(clock.now().getTime() / 1000) - 3600 }) },
      ],
      close: () => fake.close(),
    };
  },
});
