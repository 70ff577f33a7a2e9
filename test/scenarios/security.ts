// The alert scenario of the shared list (run.ts runs it on every platform): marketing must state a purpose
// for every lookup, so eleven lookups without one are eleven refusals; the default policy's refusals
// detector (more than 10 in 10 minutes) freezes the user and posts one alert card to the security
// channel. A frozen user's lookup is refused; a sales lead's Unfreeze is refused (only `admin` may) and
// the card stays; the admin's Unfreeze updates the card and lookups work again. A second user's alert is
// answered with Keep frozen: the card says so and the user stays refused.
import { placeholders } from './approvals.ts';
import type { PlatformDriver, SeenAlert } from './driver.ts';
import { observed, type Scenario, type ScenarioContext } from './lookup.ts';
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';

const REFUSALS = 11;

/** `user` looks up without a purpose until the detector trips; the alert card that follows. */
async function harvest(d: PlatformDriver, ctx: ScenarioContext, user: DemoEmployeeKey): Promise<{ refusal: unknown; alert: SeenAlert }> {
  let refusal: unknown;
  for (let i = 0; i < REFUSALS; i++) refusal = observed(await d.lookupInDm(user, ctx.customers[i]!.customerId));
  return { refusal, alert: await d.alertCard(user) };
}

function alertObserved(card: SeenAlert): unknown {
  return { title: card.title, lines: card.lines, buttons: card.buttons };
}

/**
 * What is the same everywhere of an alert card once acted on: its last line says the outcome and its
 * buttons are gone. (Slack keeps the card's title and evidence above the outcome; Lark's updated card is
 * titled with the user alone.)
 */
function updatedObserved(card: SeenAlert | null): unknown {
  return card && { outcome: card.lines.at(-1), buttons: card.buttons };
}

export const SECURITY_SCENARIOS: Scenario[] = [
  {
    name: 'alert: eleven refused lookups freeze a user and alert the security channel; a lead may not unfreeze, the admin may; another user is kept frozen',
    // marketingLead: 11 lookup.refused (purpose_required), admin.freeze (automatic); frozen: lookup.refused;
    // the lead's Unfreeze: admin.unfreeze denied; the admin's: admin.unfreeze; lookup with a purpose (query, shown).
    // marketingHead: 11 lookup.refused, admin.freeze; the admin's Keep frozen: admin.freeze; frozen: lookup.refused.
    auditRecords: 12 + 1 + 1 + 1 + 2 + 12 + 1 + 1,
    async run(d, ctx) {
      const c = ctx.customers[0]!.customerId;
      const first = await harvest(d, ctx, 'marketingLead');
      const frozen = observed(await d.lookupInDm('marketingLead', `${c} purpose: 活动回访`));
      const refused = await d.alertDecision('salesLeadEast', 'marketingLead', 'unfreeze');
      if (refused.card) throw new Error(`${d.platform}: a sales lead's Unfreeze changed the alert card`);
      const unfrozen = await d.alertDecision('admin', 'marketingLead', 'unfreeze');
      const after = await d.lookupInDm('marketingLead', `${c} purpose: 活动回访`);
      if (!after.title) throw new Error(`${d.platform}: lookups do not work after the unfreeze: ${after.text}`);
      const second = await harvest(d, ctx, 'marketingHead');
      const kept = await d.alertDecision('admin', 'marketingHead', 'keep');
      const stillFrozen = observed(await d.lookupInDm('marketingHead', `${c} purpose: 活动回访`));
      return placeholders({
        first: { refusal: first.refusal, alert: alertObserved(first.alert) }, frozen,
        refused: { answer: refused.answer, card: updatedObserved(refused.card) },
        unfrozen: { answer: unfrozen.answer, card: updatedObserved(unfrozen.card) }, after: observed(after),
        second: { refusal: second.refusal, alert: alertObserved(second.alert) },
        kept: { answer: kept.answer, card: updatedObserved(kept.card) }, stillFrozen,
      });
    },
  },
];
