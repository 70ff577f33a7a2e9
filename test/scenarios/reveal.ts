// The reveal scenario of the shared list (run.ts runs it on every platform): Reveal phone on
// the lookup card → the form → the manager approves → the original card shows the phone under the grant
// → the harness clock passes the grant's end and the workers' sweeper expires it → the card is masked
// again, the requester is told, and a new lookup masks the phone. Ids and times become placeholders.
import { approval, notOwnEastCustomer, withoutIdsAndTimes } from './approvals.ts';
import type { SeenCard } from './driver.ts';
import { observed, type Scenario } from './lookup.ts';

const PHONE = '电话';
const GRANT_MINUTES = 5;

/** The phone's value on a card, whatever its label says about a grant (`电话` or `电话（依据授权 …）`). */
function phoneOn(card: SeenCard): string | undefined {
  return [...card.fields].find(([label]) => label === PHONE || label.startsWith(`${PHONE}（`))?.[1];
}

export const REVEAL_SCENARIOS: Scenario[] = [
  {
    name: 'reveal phone from the card → the manager approves → the card shows it under the grant → the grant expires → masked again, the requester told',
    // lookup ×2 (query, shown); request.create, the Approve attempt (request.vote), .approve, grant.start;
    // the revealed card: grant.use, reveal,
    // lookup ×2; grant.expire and the re-masked card's lookup ×2; the next lookup ×2.
    auditRecords: 15,
    async run(d, ctx) {
      const c = notOwnEastCustomer(ctx, 1);
      const { requestId, approverCard } = await d.requestReveal('salesRep', c.customerId, PHONE, '核对来电号码', GRANT_MINUTES, 'salesLeadEast');
      const decision = await d.approve('salesLeadEast', requestId);
      const revealed = await d.revealCard(requestId, 1);
      if (phoneOn(revealed) !== c.phone) throw new Error(`${d.platform}: the approved reveal does not show the phone on the card`);
      const told = await d.expireGrants(GRANT_MINUTES + 1, 'salesRep', `G-${requestId.slice(2)}`);
      const remasked = await d.revealCard(requestId, 2);
      // Re-masked, not wiped: the whole card again, the phone masked.
      if (remasked.text.includes(c.phone!) || !phoneOn(remasked)) throw new Error(`${d.platform}: the card is not re-masked after the grant expired: ${remasked.text}`);
      const next = await d.lookupInDm('salesRep', c.customerId);
      if (phoneOn(next) === c.phone) throw new Error(`${d.platform}: a lookup after expiry shows the phone`);
      return withoutIdsAndTimes({
        approverCard: approval(approverCard), answer: decision.answer, revealed: observed(revealed),
        told, remasked: observed(remasked), next: observed(next),
      });
    },
  },
];
