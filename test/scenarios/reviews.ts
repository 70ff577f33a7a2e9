// The access-review scenario of the shared list (run.ts runs it on every platform): two grants made
// through the approval flow, the review worker's cycle → the grantee's manager gets one card per grant
// with Keep / Revoke → Keep one, Revoke the other → each card says who decided → the next lookups show
// the kept grant's phone and mask the revoked one's. It runs after the reminder scenario has moved the
// clock a day on, so these two are the only live grants the cycle reviews. A card counts the grantee's
// lookups of the period, every earlier scenario's included, so that line is derived from the golden
// trails (`fromHistory`): a platform where one does not apply counts the others'.
import type { Customer } from '../../bot/core/domain.ts';
import { t } from '../../bot/core/messages.ts';
import '../../bot/core/reviews/views.ts';
import { demoEmployee } from '../../bot/store/demo-company.ts';
import { approval, notOwnEastCustomer, placeholders } from './approvals.ts';
import type { PlatformDriver, SeenApproval, SeenCard, TrailEntry } from './driver.ts';
import { observed, type Scenario } from './lookup.ts';

type Fields = [string, string][];
const LOOKUPS_LINE = t('review.line.lookups', 'zh-CN');

/**
 * The card's line of `employeeId`'s lookups in `trail`, as bot/store/review-activity.ts counts them in
 * the log: allowed lookup records that showed customers, how many customers, the three most looked up.
 */
function lookupsLine(trail: TrailEntry[], employeeId: string): string {
  const perCustomer = new Map<string, number>();
  let lookups = 0;
  for (const e of trail.filter((x) => x.employeeId === employeeId && x.action === 'lookup' && x.decision === 'allowed' && x.customerIds.length > 0)) {
    lookups++;
    for (const id of e.customerIds) perCustomer.set(id, (perCustomer.get(id) ?? 0) + 1);
  }
  const top = [...perCustomer].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3).map(([id, n]) => `${id} ×${n}`).join(', ');
  return t('review.lookups', 'zh-CN', { lookups, customers: perCustomer.size }) + (top ? `; ${t('review.lookups.top', 'zh-CN', { top })}` : '');
}

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
    fromHistory(golden, earlier) {
      // The period's lookups: the earlier scenarios' and this one's before the cycle opened.
      const own = golden.trail.slice(0, golden.trail.findIndex((e) => e.action === 'review.open'));
      const line = lookupsLine([...earlier, ...own], demoEmployee('salesRep').employeeId);
      type Card = Omit<SeenApproval, 'fields'> & { fields: Fields };
      const seen = golden.seen as { cards: Card[]; kept: { card: Card | null }; revoked: { card: Card | null } };
      const counted = (c: Card | null) => c && { ...c, fields: c.fields.map(([k, v]) => [k, k === LOOKUPS_LINE ? line : v]) };
      return { ...seen, cards: seen.cards.map(counted), kept: { ...seen.kept, card: counted(seen.kept.card) }, revoked: { ...seen.revoked, card: counted(seen.revoked.card) } };
    },
  },
];
