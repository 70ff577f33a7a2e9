// 纷享销客 runs the framework's shared connector suite (test/helpers/connector-suite.ts) unchanged, against
// the fake OpenAPI v2 (test/fakes/sharecrm.ts). custos takes no change notifications from 纷享销客 (the
// forged ones find no route), an incremental run sees 作废 (life_status invalid) but not a deletion from
// the recycle bin (reconciliation finds it), and owners are employee ids mapped by the mapping's table.
import { readFileSync } from 'node:fs';
import { parseMapping } from '../bot/sync/mapping.ts';
import { shareCrmConnector } from '../bot/sync/sharecrm/index.ts';
import { FakeShareCrm } from './fakes/sharecrm.ts';
import { connectorSuite, type Region, type SuiteRecord } from './helpers/connector-suite.ts';

const CREDENTIALS = { appId: 'FSAID_131a2b3', appSecret: '5f0e1d2c3b4a59687f6e5d4c3b2a1908', permanentCode: '0A1B2C3D4E5F60718293A4B5C6D7E8F9', openUserId: 'FSUID_0A1B2C3D4E5F60718293A4B5C6D7E8F9' };
const REGION: Record<Region, string> = { north: 'huabei', east: 'huadong', south: 'huanan' };
// The fixture's table: 1000 → E-0001 (ann), 1001 → E-0002 (bob), as the suite's OWNERS by e-mail.
const OWNER: Record<string, string> = { 'ann@example.com': '1000', 'bob@example.com': '1001' };
const mapping = parseMapping(readFileSync(new URL('./fixtures/sync/sharecrm.yaml', import.meta.url), 'utf8'));

const fields = (r: SuiteRecord) => ({ account_no: String(r.number), name: r.name, region__c: REGION[r.region], tel: r.phone, owner: [OWNER[r.ownerEmail]] });

connectorSuite({
  source: 'sharecrm', factory: shareCrmConnector, mapping, pageSize: 10, deletionsInIncremental: true,
  async start(clock) {
    const fake = new FakeShareCrm({ credentials: CREDENTIALS, clock });
    const url = await fake.start();
    return {
      env: {
        CUSTOS_SYNC_SHARECRM_API_URL: url, CUSTOS_SYNC_SHARECRM_APP_ID: CREDENTIALS.appId, CUSTOS_SYNC_SHARECRM_APP_SECRET: CREDENTIALS.appSecret,
        CUSTOS_SYNC_SHARECRM_PERMANENT_CODE: CREDENTIALS.permanentCode, CUSTOS_SYNC_SHARECRM_OPEN_USER_ID: CREDENTIALS.openUserId, CUSTOS_SYNC_SHARECRM_PAGE_SIZE: '10',
      },
      create: (r) => fake.create(fields(r)),
      update: (id, p) => fake.update(id, { ...(p.name ? { name: p.name } : {}), ...(p.region ? { region__c: REGION[p.region] } : {}), ...(p.phone ? { tel: p.phone } : {}) }),
      moveOwner: (id, email) => fake.update(id, { owner: [OWNER[email]] }),
      remove: (id) => fake.invalidate(id), // 作废: what a user does; the record shows as invalid
      removeUnseen: (id) => fake.remove(id), // deleted from the recycle bin: no trace in a query
      settle: () => clock.advance(1_000),
      exhaustQuota: () => fake.exhaustQuota(),
      restoreQuota: () => fake.restoreQuota(),
      forgeries: (ids) => [{ send: (url) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ objectApiName: 'AccountObj', dataIds: ids }) }) }],
      close: () => fake.close(),
    };
  },
});
