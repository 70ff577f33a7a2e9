// The periodic access review (issue 8, item 4), platform-neutral. Each cycle (opened by the scheduled
// job) puts every live grant in front of the grantee's manager as a card with Keep / Revoke; the card
// also shows the grantee's lookups of the period. Unanswered cards are followed up once, then escalated
// to the reviewer's own manager (a DPO when there is none); when the cycle closes the DPOs get a summary
// of counts. Every step is claimed once in the store (unique inserts), so overlapping runs, restarts and
// duplicate clicks cannot double-post, double-notify or decide twice. Time comes from the injected clock.
// Every step is audited before it takes effect: the decisions by the reviewer, the system's steps
// (opening, reminder, escalation, closing) under an event id derived from the step, so one stored event
// per step however many runs attempt it; without the audit queue a step waits for the next run.
import type { AuditEventInput, AuditPlatform, AuditRecorder } from '../audit.ts';
import { newEventId, stepEventId } from '../audit-event.ts';
import type { Employee } from '../domain.ts';
import { t } from '../messages.ts';
import type { Clock } from '../ports.ts';
import type { Grant } from '../../../policies/grants.ts';
import type { ReviewCardRef, ReviewCycle, ReviewDecision, ReviewGrants, ReviewItem, ReviewActivity, ReviewPeople, ReviewStore, DecisionRecord } from './types.ts';
import { decidedStatus, employeeLabel, reviewCardView, settledView, summaryText, type CardFacts, type ReviewCardView } from './views.ts';
import { when } from '../views-approval.ts';

/** Chat I/O of the review (bot/slack/review-notifier.ts). */
export interface ReviewNotifier {
  post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null>;
  update(ref: ReviewCardRef, view: ReviewCardView): Promise<void>;
  tell(to: Employee, text: string): Promise<void>;
}

export interface ReviewTiming { lookbackDays: number; followUpHours: number; escalateHours: number; closeHours: number }

export interface ReviewDeps {
  store: ReviewStore;
  grants: ReviewGrants;
  people: ReviewPeople;
  activity: ReviewActivity;
  notifier: ReviewNotifier;
  recorder: AuditRecorder;
  clock: Clock;
  timing: ReviewTiming;
}

export type ReviewOutcome =
  | { kind: 'done'; decision: ReviewDecision; record: DecisionRecord; revoked: boolean }
  | { kind: 'already'; decision: DecisionRecord; by: Employee | null }
  | { kind: 'not_reviewer' }
  | { kind: 'unknown' };

export interface SweepCounts { followedUp: number; escalated: number; closed: number }

/** The system's one-time steps of a cycle, as audited. */
type StepAction = 'review.open' | 'review.remind' | 'review.escalate' | 'review.close';
type StepFacts = Record<string, string | number>; // ids and counts only: never names or customer data

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REVIEW_ID_RE = /^RV-\d{8}\.[A-Za-z0-9_-]{1,64}$/;

export function cycleIdOf(at: Date): string {
  return `RV-${at.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export class AccessReviewService {
  constructor(private readonly deps: ReviewDeps) {}

  /** Opens this period's cycle and posts a card per live grant not yet under review in it. */
  async openCycle(): Promise<{ cycleId: string; posted: number }> {
    const now = this.deps.clock.now();
    const cycle: ReviewCycle = { cycleId: cycleIdOf(now), openedAt: now, periodStart: new Date(now.getTime() - this.deps.timing.lookbackDays * DAY) };
    const live = await this.deps.grants.liveAt(now);
    let open = await this.deps.store.cycle(cycle.cycleId); // the first run's, when this is a repeat
    if (!open) {
      // A repeat run of the day that also finds no cycle (a race) records the same event id.
      await this.recordStep(`open:${cycle.cycleId}`, 'review.open', { cycleId: cycle.cycleId, grants: live.length, lookbackDays: this.deps.timing.lookbackDays });
      open = (await this.deps.store.openCycle(cycle)) ? cycle : await this.deps.store.cycle(cycle.cycleId);
    }
    if (!open || open.closedAt) return { cycleId: cycle.cycleId, posted: 0 }; // closed already: nothing more to ask
    let posted = 0;
    for (const grant of live) if (await this.review(open, grant)) posted++;
    return { cycleId: open.cycleId, posted };
  }

  private async review(cycle: ReviewCycle, grant: Grant): Promise<boolean> {
    const grantee = await this.deps.people.byId(grant.granteeId);
    const reviewer = await this.reviewerOf(grantee, [grant.granteeId]);
    if (!reviewer) return false; // nobody to ask: the grant still shows in the DPO summary's totals
    const item: ReviewItem = {
      reviewId: `${cycle.cycleId}.${grant.grantId}`, cycleId: cycle.cycleId, grantId: grant.grantId, granteeId: grant.granteeId,
      reviewerId: reviewer.employeeId, createdAt: this.deps.clock.now(), cards: [],
    };
    if (!(await this.deps.store.addItem(item))) return false; // asked already this cycle
    const view = await this.cardOf(item, cycle, grant, reviewer);
    const ref = await this.deps.notifier.post(reviewer, view);
    if (ref) await this.deps.store.addCard(item.reviewId, ref);
    return ref !== null;
  }

  /** The grantee's active manager; failing that an active DPO who is not among `exclude`. */
  private async reviewerOf(of: Employee | null, exclude: string[]): Promise<Employee | null> {
    const manager = of?.managerId ? await this.deps.people.byId(of.managerId) : null;
    if (manager?.status === 'active' && !exclude.includes(manager.employeeId)) return manager;
    return (await this.deps.people.dpos()).find((d) => !exclude.includes(d.employeeId)) ?? null;
  }

  private async cardOf(item: ReviewItem, cycle: ReviewCycle, grant: Grant, to: Employee, status?: (reader: Employee) => string): Promise<ReviewCardView> {
    return reviewCardView(await this.factsOf(item, cycle, grant), to, status?.(to));
  }

  /** What a card about `item` shows, whoever reads it (the grantee's lookups in the period are read here). */
  private async factsOf(item: ReviewItem, cycle: ReviewCycle, grant: Grant): Promise<CardFacts> {
    const grantee = await this.deps.people.byId(item.granteeId);
    const activity = await this.deps.activity.ofEmployee(item.granteeId, cycle.periodStart, cycle.openedAt);
    const deadline = new Date(cycle.openedAt.getTime() + this.deps.timing.escalateHours * HOUR);
    return { item, cycle, grant, grantee: employeeLabel(grantee, item.granteeId), activity, deadline };
  }

  async decide(clicker: Employee, platform: AuditPlatform, platformUserId: string, reviewId: string, decision: ReviewDecision): Promise<ReviewOutcome> {
    const item = REVIEW_ID_RE.test(reviewId) ? await this.deps.store.item(reviewId) : null;
    if (!item) return { kind: 'unknown' };
    const actor = { employeeId: clicker.employeeId, platform, platformUserId };
    if (clicker.status !== 'active' || (clicker.employeeId !== item.reviewerId && clicker.employeeId !== item.escalatedTo)) {
      await this.record(actor, item, decision, { decision: 'denied', reasonCode: 'not_reviewer' });
      return { kind: 'not_reviewer' };
    }
    const at = this.deps.clock.now();
    const result = await this.deps.store.decide(reviewId, { decision, by: clicker.employeeId, at });
    if (!result.won) return { kind: 'already', decision: result.decision, by: await this.deps.people.byId(result.decision.by) };
    // The grant store's revocation is itself a compare-and-swap: an expired or already revoked grant stays as it is.
    const revoked = decision === 'revoke' ? (await this.deps.grants.revoke(item.grantId, clicker.employeeId, at)) !== null : false;
    await this.record(actor, item, decision, { decision: 'allowed', revoked });
    await this.settleCards(item, (reader) => decidedStatus(result.decision, clicker, reader));
    if (revoked) await this.tellGrantee(item);
    return { kind: 'done', decision, record: result.decision, revoked };
  }

  /**
   * The card as `reader` should now see it once it needs no answer (decided, or its cycle closed), for a
   * platform that answers a click with the clicked card (Lark); null while it still waits for an answer.
   */
  async settledCardFor(reviewId: string, reader: Employee): Promise<ReviewCardView | null> {
    const item = REVIEW_ID_RE.test(reviewId) ? await this.deps.store.item(reviewId) : null;
    const [cycle, grant] = item ? [await this.deps.store.cycle(item.cycleId), await this.deps.grants.byId(item.grantId)] : [null, null];
    if (!item || !cycle || !grant) return null;
    if (item.decision) {
      const decision = item.decision;
      const by = await this.deps.people.byId(decision.by);
      return settledView(await this.cardOf(item, cycle, grant, reader), decidedStatus(decision, by, reader));
    }
    return cycle.closedAt ? settledView(await this.cardOf(item, cycle, grant, reader), t('review.status.unanswered', reader.locale, { cycle: cycle.cycleId })) : null;
  }

  private async tellGrantee(item: ReviewItem): Promise<void> {
    const grantee = await this.deps.people.byId(item.granteeId);
    if (grantee) await this.deps.notifier.tell(grantee, t('review.grantee.revoked', grantee.locale, { grant: item.grantId })).catch(() => undefined);
  }

  /** Replaces every copy of the card by its settled state (no buttons). */
  private async settleCards(item: ReviewItem, status: (reader: Employee) => string): Promise<void> {
    if (item.cards.length === 0) return;
    const [cycle, grant] = [await this.deps.store.cycle(item.cycleId), await this.deps.grants.byId(item.grantId)];
    if (!cycle || !grant) return;
    const facts = await this.factsOf(item, cycle, grant); // once for every copy: the facts do not depend on the reader
    for (const ref of item.cards) {
      const to = await this.deps.people.byId(ref.employeeId);
      if (!to) continue;
      await this.deps.notifier.update(ref, settledView(reviewCardView(facts, to), status(to)));
    }
  }

  /** Follow-ups, escalations and closing for every open cycle, as far as the clock has moved. */
  async sweep(): Promise<SweepCounts> {
    const counts: SweepCounts = { followedUp: 0, escalated: 0, closed: 0 };
    const now = this.deps.clock.now();
    for (const cycle of await this.deps.store.openCycles()) {
      const age = now.getTime() - cycle.openedAt.getTime();
      const items = await this.deps.store.items(cycle.cycleId);
      if (age >= this.deps.timing.closeHours * HOUR) {
        if (await this.close(cycle, items)) counts.closed++;
        continue;
      }
      const waiting = items.filter((i) => !i.decision);
      if (age >= this.deps.timing.escalateHours * HOUR) counts.escalated += await this.escalate(cycle, waiting);
      else if (age >= this.deps.timing.followUpHours * HOUR) counts.followedUp += await this.followUp(cycle, waiting);
    }
    return counts;
  }

  /** One reminder per reviewer and cycle, listing how many reviews still wait. */
  private async followUp(cycle: ReviewCycle, waiting: ReviewItem[]): Promise<number> {
    let sent = 0;
    const byReviewer = new Map<string, ReviewItem[]>();
    for (const i of waiting) byReviewer.set(i.reviewerId, [...(byReviewer.get(i.reviewerId) ?? []), i]);
    for (const [reviewerId, items] of byReviewer) {
      const key = `followup:${cycle.cycleId}:${reviewerId}`;
      if (await this.deps.store.claimed(key)) continue;
      const reviewer = await this.deps.people.byId(reviewerId);
      if (!reviewer) continue;
      const deadline = when(new Date(cycle.openedAt.getTime() + this.deps.timing.escalateHours * HOUR), reviewer.timezone);
      const facts = { cycleId: cycle.cycleId, reviewer: reviewerId, waiting: items.length };
      if (await this.step(key, 'review.remind', facts, () => this.deps.notifier.tell(reviewer, t('review.reminder', reviewer.locale, { count: items.length, cycle: cycle.cycleId, deadline })))) sent++;
    }
    return sent;
  }

  /** Each unanswered review goes once to the reviewer's manager (a DPO if none), who may then answer it. */
  private async escalate(cycle: ReviewCycle, waiting: ReviewItem[]): Promise<number> {
    let escalated = 0;
    for (const item of waiting) {
      const key = `escalate:${item.reviewId}`;
      if (item.escalatedTo || (await this.deps.store.claimed(key))) continue;
      const reviewer = await this.deps.people.byId(item.reviewerId);
      const target = await this.reviewerOf(reviewer, [item.reviewerId, item.granteeId]);
      const grant = await this.deps.grants.byId(item.grantId);
      if (!target || !grant) continue;
      const facts = { cycleId: cycle.cycleId, reviewId: item.reviewId, grantId: item.grantId, subject: item.granteeId, reviewer: item.reviewerId, escalatedTo: target.employeeId };
      if (await this.step(key, 'review.escalate', facts, async () => {
        await this.deps.store.setEscalated(item.reviewId, target.employeeId);
        const reviewerName = employeeLabel(reviewer, item.reviewerId);
        const view = await this.cardOf(item, cycle, grant, target, (reader) => t('review.status.escalated', reader.locale, { reviewer: reviewerName, cycle: cycle.cycleId }));
        const ref = await this.deps.notifier.post(target, view);
        if (ref) await this.deps.store.addCard(item.reviewId, ref);
      })) escalated++;
    }
    return escalated;
  }

  /** Closes the cycle once: unanswered cards say so, and every DPO gets the counts. */
  private async close(cycle: ReviewCycle, items: ReviewItem[]): Promise<boolean> {
    const key = `close:${cycle.cycleId}`;
    if (await this.deps.store.claimed(key)) return false;
    const unanswered = items.filter((i) => !i.decision);
    const counts = await this.deps.activity.totals(cycle.periodStart, cycle.openedAt);
    const facts = {
      cycle, counts, total: items.length, unanswered: unanswered.length,
      kept: items.filter((i) => i.decision?.decision === 'keep').length,
      revoked: items.filter((i) => i.decision?.decision === 'revoke').length,
      escalated: unanswered.filter((i) => i.escalatedTo).length,
    };
    const dpos = await this.deps.people.dpos();
    // The audit record holds what the DPOs are told (counts only) and how many were told.
    const { cycle: _c, counts: period, ...tally } = facts;
    return this.step(key, 'review.close', { cycleId: cycle.cycleId, ...tally, ...period, dpos: dpos.length }, async () => {
      for (const item of unanswered) await this.settleCards(item, (reader) => t('review.status.unanswered', reader.locale, { cycle: cycle.cycleId }));
      for (const dpo of dpos) await this.deps.notifier.tell(dpo, summaryText(facts, dpo));
      await this.deps.store.closeCycle(cycle.cycleId, this.deps.clock.now());
    });
  }

  /**
   * A one-time system step: audited, then claimed, then done by the claim's winner alone. Recording
   * first fails closed (no audit queue: nothing is claimed, the next sweep tries again); the event id
   * derives from the claim key, so racing attempts that all record still leave one event.
   */
  private async step(key: string, action: StepAction, facts: StepFacts, act: () => Promise<void>): Promise<boolean> {
    await this.recordStep(key, action, facts);
    if (!(await this.deps.store.claim(key))) return false;
    await act();
    return true;
  }

  private async recordStep(key: string, action: StepAction, facts: StepFacts): Promise<void> {
    const now = this.deps.clock.now();
    const { grantId, ...meta } = facts;
    await this.deps.recorder.record({
      v: 1, eventId: stepEventId(`review:${key}`), occurredAt: now.toISOString(), actor: { employeeId: null, platform: 'system' }, channelKind: 'none',
      action, customerIds: [], fields: [], decision: 'allowed', ruleIds: [], ...(grantId !== undefined ? { grantId: String(grantId) } : {}),
      meta: { ...meta, reason: 'access_review' },
    });
  }

  private async record(actor: AuditEventInput['actor'], item: ReviewItem, decision: ReviewDecision, outcome: { decision: 'allowed' | 'denied'; reasonCode?: string; revoked?: boolean }): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.recorder.record({
      v: 1, eventId: newEventId(now), occurredAt: now.toISOString(), actor, channelKind: 'dm',
      action: decision === 'keep' ? 'review.keep' : 'review.revoke', customerIds: [], fields: [],
      decision: outcome.decision, ruleIds: [], grantId: item.grantId, ...(outcome.reasonCode ? { reasonCode: outcome.reasonCode } : {}),
      meta: { subject: item.granteeId, reviewId: item.reviewId, cycleId: item.cycleId, reason: 'access_review', ...(outcome.revoked !== undefined ? { revoked: outcome.revoked } : {}) },
    });
  }
}
