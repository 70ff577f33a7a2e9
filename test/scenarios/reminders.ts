// The reminder and expiry scenario of the shared list (run.ts runs it on every platform), on the default
// policy's timings (remind after 60 minutes, escalate after 240, expire after 1,440): a request nobody
// answers → the harness clock passes each time and the workers' sweeper runs → the approver is reminded,
// the request is escalated to the approver's manager, then it expires: every copy of the card says so,
// the requester is told, and the phone stays masked. The clock moves a day forward: the earlier
// scenarios' grants expire in these sweeps too, and their expiry records are part of this trail.
import { approval, notOwnEastCustomer, placeholders } from './approvals.ts';
import { observed, type Scenario } from './lookup.ts';

export const REMINDER_SCENARIOS: Scenario[] = [
  {
    name: 'reminders and expiry: unanswered, the approver is reminded, the request escalates to their manager, then expires on every copy and the requester is told',
    // lookup (query, shown), request.create; +61 min: request.remind and the expiry of the two grants
    // (identity 30 min, access 60 min) left by earlier scenarios; +180 min: request.escalate and the
    // export's grant; +1,200 min: request.expire; the next lookup (query, shown).
    auditRecords: 3 + 3 + 2 + 1 + 2,
    timeoutMs: 600_000,
    async run(d, ctx) {
      const c = notOwnEastCustomer(ctx, 6);
      const { requestId, approverCard } = await d.requestAccess('salesRep', c.customerId, ['contact'], '续约跟进', 60, 'salesLeadEast');
      const reminded = await d.expireGrants(61, 'salesLeadEast', requestId);
      const escalated = await d.expireGrants(180, 'salesHead', requestId);
      const expired = await d.expireRequest(1200, requestId, 'salesRep');
      const after = await d.lookupInDm('salesRep', c.customerId);
      if (after.fields.get('电话') === c.phone) throw new Error(`${d.platform}: an expired request showed the phone`);
      const sorted = expired.copies.map(approval).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      return placeholders({ approverCard: approval(approverCard), reminded, escalated, copies: sorted, told: expired.told, after: observed(after) });
    },
  },
];
