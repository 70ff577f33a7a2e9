// Salesforce runs the framework's shared connector suite (test/helpers/connector-suite.ts) unchanged,
// against the fake org (test/fakes/salesforce.ts) through real jsforce. Salesforce sends custos no
// change notifications, so the forged ones find no route.
import { salesforceConnector } from '../bot/sync/salesforce/connector.ts';
import { FakeSalesforce } from './fakes/salesforce.ts';
import { connectorSuite, type Region } from './helpers/connector-suite.ts';
import { sfEnv, sfMapping } from './helpers/salesforce-sync.ts';

const REGION: Record<Region, string> = { north: 'CN-N', east: 'CN-E', south: 'CN-S' };

connectorSuite({
  source: 'salesforce', factory: salesforceConnector, mapping: sfMapping, pageSize: 200, deletionsInIncremental: true,
  async start(clock) {
    const fake = new FakeSalesforce({ now: clock.now });
    await fake.start();
    return {
      env: sfEnv(fake),
      create: (r) => fake.create({ Name: r.name, AccountNumber: String(r.number), Phone: r.phone, Region__c: REGION[r.region], Tier__c: 'A', ownerEmail: r.ownerEmail }),
      update: (id, p) => fake.update(id, { ...(p.name ? { Name: p.name } : {}), ...(p.region ? { Region__c: REGION[p.region] } : {}), ...(p.phone ? { Phone: p.phone } : {}) }),
      moveOwner: (id, email) => fake.moveOwner(id, email),
      remove: (id) => fake.remove(id),
      // The org's delete log purged past the deletion (an emptied Recycle Bin).
      removeUnseen: (id) => { fake.remove(id); fake.purgeDeleteLog(new Date(clock.now().getTime() + 1000)); },
      // Seconds precision and getDeleted's one-minute minimum span: two minutes pass.
      settle: () => clock.advance(120_000),
      exhaustQuota: () => fake.exhaustQuota(),
      restoreQuota: () => fake.restoreQuota(),
      forgeries: (ids) => [{ send: (url) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) }) }],
      close: () => fake.close(),
    };
  },
});
