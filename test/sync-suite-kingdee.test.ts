// 金蝶云星空 runs the framework's shared connector suite (test/helpers/connector-suite.ts) unchanged, against
// the fake K/3 Cloud WebAPI (test/fakes/kingdee.ts). K/3 sends no change notifications (the forged ones
// find no route), lists no hard deletions (reconciliation finds them), and its owners are salesmen
// (FSeller.FNumber) mapped to employees by the mapping's table.
import { readFileSync } from 'node:fs';
import { kingdeeConnector } from '../bot/sync/kingdee/index.ts';
import { parseMapping } from '../bot/sync/mapping.ts';
import { FakeKingdee } from './fakes/kingdee.ts';
import { connectorSuite, type Region, type SuiteRecord } from './helpers/connector-suite.ts';

const CREDENTIALS = { acctId: '64f0a1b2c3d4e5', username: 'custos-sync', appId: '279841_7d1/0bDo6rDcXf+v0w2A1Z3L', appSecret: 'b3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6' };
const GROUP: Record<Region, string> = { north: 'HB', east: 'HD', south: 'HN' };
// The fixture's table: XS001 → E-0001 (ann), XS002 → E-0002 (bob), as the suite's OWNERS by e-mail.
const SELLER: Record<string, string> = { 'ann@example.com': 'XS001', 'bob@example.com': 'XS002' };
const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/kingdee.yaml', import.meta.url), 'utf8'));

const fields = (r: SuiteRecord) => ({ FNumber: String(r.number), FName: r.name, 'FGroup.FNumber': GROUP[r.region], FTEL: r.phone, 'FSeller.FNumber': SELLER[r.ownerEmail] });

connectorSuite({
  source: 'kingdee', factory: kingdeeConnector, mapping, pageSize: 100, deletionsInIncremental: false,
  async start(clock) {
    const fake = new FakeKingdee({ credentials: CREDENTIALS, clock });
    const url = await fake.start();
    return {
      env: {
        CUSTOS_SYNC_KINGDEE_SERVER_URL: url, CUSTOS_SYNC_KINGDEE_ACCT_ID: CREDENTIALS.acctId, CUSTOS_SYNC_KINGDEE_USERNAME: CREDENTIALS.username,
        CUSTOS_SYNC_KINGDEE_APP_ID: CREDENTIALS.appId, CUSTOS_SYNC_KINGDEE_APP_SECRET: CREDENTIALS.appSecret, CUSTOS_SYNC_KINGDEE_PAGE_SIZE: '100',
      },
      create: (r) => String(fake.create(fields(r))),
      update: (id, p) => fake.update(Number(id), { ...(p.name ? { FName: p.name } : {}), ...(p.region ? { 'FGroup.FNumber': GROUP[p.region] } : {}), ...(p.phone ? { FTEL: p.phone } : {}) }),
      moveOwner: (id, email) => fake.update(Number(id), { 'FSeller.FNumber': SELLER[email] }),
      remove: (id) => fake.remove(Number(id)),
      removeUnseen: (id) => fake.remove(Number(id)), // K/3 lists no deletions; 禁用 is the one it shows
      settle: () => clock.advance(1_000),
      exhaustQuota: () => fake.failNext(1_000_000, 429),
      restoreQuota: () => fake.failNext(0),
      forgeries: (ids) => [{ send: (url) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) }) }],
      close: () => fake.close(),
    };
  },
});
