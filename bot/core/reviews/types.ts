// The periodic access review, platform-neutral: the records a review cycle keeps and the ports it
// reads and writes through (bot/store implements the stores, bot/slack the notifier).
import type { ChatPlatform } from '../ports.ts';
import type { Employee } from '../domain.ts';
import type { Grant } from '../../../policies/grants.ts';

export type ReviewDecision = 'keep' | 'revoke';

/** One posted copy of a review card (the reviewer's, and the escalation target's). */
export interface ReviewCardRef { platform: ChatPlatform; channel: string; ts: string; employeeId: string }

/** One cycle: opened by the scheduler; closes (DPO summary) `closeHours` later. */
export interface ReviewCycle {
  cycleId: string; // RV-YYYYMMDD (UTC date of opening): a second run the same day is the same cycle
  openedAt: Date;
  periodStart: Date; // the lookback period the cards and the summary report: [periodStart, openedAt)
  closedAt?: Date;
}

/** One grant under review in one cycle. */
export interface ReviewItem {
  reviewId: string; // `${cycleId}.${grantId}`: one per grant and cycle, so a kept grant is not asked again
  cycleId: string;
  grantId: string;
  granteeId: string;
  reviewerId: string; // the grantee's manager, or a DPO when there is none
  escalatedTo?: string;
  createdAt: Date;
  cards: ReviewCardRef[];
  decision?: DecisionRecord;
}

export interface DecisionRecord { decision: ReviewDecision; by: string; at: Date }

export interface ReviewStore {
  /** Inserts the cycle; false when it exists already (the schedule fired twice, a retry). */
  openCycle(cycle: ReviewCycle): Promise<boolean>;
  cycle(cycleId: string): Promise<ReviewCycle | null>;
  openCycles(): Promise<ReviewCycle[]>;
  closeCycle(cycleId: string, at: Date): Promise<void>;
  /** Inserts the item; false when it exists already (whoever inserted it posts its card). */
  addItem(item: ReviewItem): Promise<boolean>;
  addCard(reviewId: string, card: ReviewCardRef): Promise<void>;
  item(reviewId: string): Promise<ReviewItem | null>;
  items(cycleId: string): Promise<ReviewItem[]>;
  /** Exactly one caller wins each key (a unique insert; FerretDB's conditional updates are not atomic). */
  claim(key: string): Promise<boolean>;
  /** Whether `key` was claimed already: lets a sweep skip a done step without recording it again. */
  claimed(key: string): Promise<boolean>;
  /** Records the decision exactly once; the earlier decision when someone else won. */
  decide(reviewId: string, decision: DecisionRecord): Promise<{ won: boolean; decision: DecisionRecord }>;
  setEscalated(reviewId: string, to: string): Promise<void>;
}

/** Grants as the review needs them. */
export interface ReviewGrants {
  /** Grants active at `at` (not expired, not revoked), every grantee. */
  liveAt(at: Date): Promise<Grant[]>;
  byId(grantId: string): Promise<Grant | null>;
  /** Compare-and-swap revocation: null when it was already revoked (or is unknown). */
  revoke(grantId: string, by: string, at: Date): Promise<Grant | null>;
}

/** A grantee's lookups in the period: how many, of how many customers, and the most looked-up ones. */
export interface LookupActivity { lookups: number; distinctCustomers: number; top: { customerId: string; count: number }[] }

/** What the DPO summary reports about the period, from the audit log (counts only). */
export interface PeriodCounts { lookups: number; refusals: number; reveals: number; exports: number; freezes: number }

export interface ReviewActivity {
  ofEmployee(employeeId: string, since: Date, until: Date): Promise<LookupActivity>;
  totals(since: Date, until: Date): Promise<PeriodCounts>;
}

export interface ReviewPeople {
  byId(employeeId: string): Promise<Employee | null>;
  /** Active employees with the `dpo` role (the summary's recipients and the last escalation step). */
  dpos(): Promise<Employee[]>;
}
