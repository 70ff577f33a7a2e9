// What the scale drills assert about their approval, export and audit flows (scale-flows.ts), by
// counting stored records after the drills: each request decided exactly once (one stored decision,
// one decision event, the same outcome); every approved request has its one grant and one grant.start,
// and the grant works (a reveal showed the phone in place; after every drill, a lookup of a customer
// under an access grant shows it);
// each export delivered once (one export.complete, one completed file); every Approve click and every
// /audit query answered once (a click whose bot was SIGKILLed at most once: clicks are not ledgered).
import type { ExecutionContext } from 'ava';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { loadConfig } from '../../bot/config.ts';
import type { ScaleDrill } from './scale-drill.ts';
import { untilDecided, type FlowRecords } from './scale-flows.ts';

const DECISIONS = ['request.approve', 'request.deny', 'request.cancel', 'request.expire'];
const APPROVED = /您已批准申请|You approved request/;

export async function assertFlows(t: ExecutionContext, drill: ScaleDrill, flows: FlowRecords, lookupsAfter: Map<string, string>): Promise<void> {
  const db = drill.db.conn;
  const ids = flows.requests.map((r) => r.requestId);
  t.true(flows.reveals.length > 0 && flows.accesses.length > 0 && flows.auditQueries.length > 0 && flows.requests.some((r) => r.kind === 'export'), 'every kind of flow ran');
  await untilDecided(db, ids);
  for (const { requestId, kind } of flows.requests) {
    const decisions = await db.collection('request_decisions').find({ requestId }).toArray();
    const events = await db.collection('audit_events').find({ requestId, action: { $in: DECISIONS } }).toArray();
    t.deepEqual(decisions.map((d) => d.outcome), ['approved'], `${kind} ${requestId}: one stored decision, approved`);
    t.deepEqual(events.map((e) => e.action), ['request.approve'], `${kind} ${requestId}: one decision event, no decision twice`);
    const request = await db.collection('access_requests').findOne({ requestId });
    t.is(request?.status, 'approved', `${kind} ${requestId} finished`);
    const grants = await db.collection('grants').find({ requestId }).toArray();
    t.is(grants.length, 1, `${kind} ${requestId}: its grant exists, once`);
    t.true(!grants[0]?.revokedAt && (grants[0]?.expiresAt as Date) > new Date(), `${kind} ${requestId}: its grant is active`);
    t.is(await db.collection('audit_events').countDocuments({ requestId, action: 'grant.start' }), 1, `${kind} ${requestId}: one grant.start`);
    if (kind === 'export') {
      const exportId = String(request?.exportId);
      t.is(await db.collection('audit_events').countDocuments({ exportId, action: 'export.complete' }), 1, `export ${exportId}: one export.complete`);
      t.is([...drill.fake.files.values()].filter((f) => f.completed && f.filename.includes(exportId)).length, 1, `export ${exportId}: delivered once`);
    }
  }
  const customers = new CustomerStore(db, new FieldCipher(loadConfig(drill.env, { require: ['crypto'] }).crypto!));
  const phoneOf = async (customerId: string) => (await customers.get(customerId))!.phone!;
  for (const r of flows.reveals) t.true(r.shown.includes(await phoneOf(r.customerId)), `reveal ${r.requestId}: the requester's card shows the phone in place`);
  for (const a of flows.accesses) {
    t.true(lookupsAfter.get(a.customerId)?.includes(await phoneOf(a.customerId)), `access ${a.requestId}: a lookup after the drills shows the phone (the grant was not lost)`);
  }
  const per = drill.replies();
  t.deepEqual(flows.clicks.filter((c) => (per.get(c.responsePath) ?? 0) !== 1 && !(drill.isDead(c.backend) && !per.has(c.responsePath))).map((c) => c.responsePath), [],
    'every Approve click answered once (a click held by a killed bot: at most once)');
  for (const requestId of ids) {
    const won = flows.clicks.filter((c) => c.text.includes(requestId)).filter((c) => drill.fake.calls.some((x) => x.method === 'response_url' && x.path === c.responsePath && APPROVED.test(JSON.stringify(x.body))));
    t.true(won.length <= 1, `${requestId}: at most one clicker told they approved (${won.length})`);
  }
  t.deepEqual(flows.auditQueries.filter((q) => per.get(q.responsePath) !== 1).map((q) => q.responsePath), [], 'every /audit query answered once');
}
