// The access-review scenario of the shared list (run.ts runs it on every platform): two grants made
// through the approval flow, the review worker's cycle → the grantee's manager gets one card per grant
// with Keep / Revoke → Keep one, Revoke the other → each card says who decided → the next lookups show
// the kept grant's phone and mask the revoked one's. It runs after the reminder scenario has moved the
// clock a day on, so these two are the only live grants the cycle reviews.
import type { Customer } from '../../bot/core/domain.ts';
import { approval, notOwnEastCustomer, placeholders } from './approvals.ts';
import type { PlatformDriver, SeenCard } from './driver.ts';
import { observed, type Scenario } from './lookup.ts';

const shows = (card: SeenCard, value: string | undefined) => value !== undefined && [...card.fields.values()].includes(value);

async function granted(d: PlatformDriver, c: Customer): Promise<string> {
  const { requestId } = await d.requestAccess('salesRep', c.customerId, ['contact'], '合同续签核对', 240, 'salesLeadEast');
  await d.approve('salesLeadEast', requestId);
  return `G-${requestId.slice(2)}`;
}

export const REVIEW_SCENARIOS: Scenario[] = [
  {
    name: 'access review: the manager gets a card per live grant, Keeps one and Revokes the other; the revoked grant\'s phone is masked at the next lookup',
    // Two grants: each lookup (query, shown), request.create, request.vote, request.approve, grant.start;
    // the cycle: review.open; Keep: review.keep; Revoke: review.revoke (the grant ends with it); two
    // lookups, the kept one under its grant (query, grant.use, shown), the revoked one (query, shown).
    auditRecords: 2 * 6 + 1 + 1 + 1 + 3 + 2,
    timeoutMs: 600_000,
    async run(d, ctx) {
      const keep = notOwnEastCustomer(ctx, 4);
      const revoke = notOwnEastCustomer(ctx, 5);
      const keptGrant = await granted(d, keep);
      const revokedGrant = await granted(d, revoke);
      await d.runReviewCycle();
      const keepCard = await d.reviewCard('salesLeadEast', keptGrant);
      const revokeCard = await d.reviewCard('salesLeadEast', revokedGrant);
      const kept = await d.reviewDecision('salesLeadEast', keepCard.reviewId, 'keep');
      const revoked = await d.reviewDecision('salesLeadEast', revokeCard.reviewId, 'revoke');
      const keptLookup = await d.lookupInDm('salesRep', keep.customerId);
      const revokedLookup = await d.lookupInDm('salesRep', revoke.customerId);
      if (!shows(keptLookup, keep.phone) || shows(revokedLookup, revoke.phone)) throw new Error(`${d.platform}: the lookups do not follow the review's decisions`);
      return placeholders({
        cards: [approval(keepCard.card), approval(revokeCard.card)],
        kept: { answer: kept.answer, card: kept.card && approval(kept.card) },
        revoked: { answer: revoked.answer, card: revoked.card && approval(revoked.card) },
        keptLookup: observed(keptLookup), revokedLookup: observed(revokedLookup),
      });
    },
  },
];
