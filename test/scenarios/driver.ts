// The platform driver interface of the shared scenario list: a scenario says what users do ("look up X
// in a DM", "share it in the team channel"); a driver does it through one chat platform's real adapter
// and reports what the user saw, in platform-neutral terms, plus the audit trail it left.
//
// Writing a driver (DingTalk, WeCom, the playground, …): implement every method below through the
// platform's real adapter (signed requests to custos's real endpoint, the platform's fake API), on a
// harness seeded with SEED and CUSTOMERS, with TEAM in the team channel, grants read by the policy
// engine, a movable clock shared by the bot and the workers (test/helpers/slack-approval.ts
// `movableClock`), and a security channel (see `alertCard`). Return text as the user reads it: markup
// and platform escapes undone (`&lt;` → `<`, `*bold*` → `bold`), one string per line. Buttons are named by
// the neutral decision they carry ('approve', 'deny', 'keep', 'older', …), never by label or action id.
// `test/scenarios/run.ts` runs the list on a driver and compares what it returns with the golden file:
// an output that differs from Slack's and Lark's is a failure of the driver or of the adapter.
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';

/** A card as the user saw it: its title and `label → value` lines (unescaped), and whether it offered Share. */
export interface SeenCard { title: string; fields: Map<string, string>; text: string; shareable: boolean }

/** A request card (approval flow) as one reader saw it: title, `label → value` lines, status line, buttons. */
export interface SeenApproval { title: string; fields: Map<string, string>; status: string; buttons: string[] }

/**
 * A paged table (an audit query's answer) as its reader saw it: the title line, the column header line
 * (with its time-zone note), one string per row (`#seq · time · actor · action · decision · where ·
 * customers`, cells joined by ' · ' as the core renders them), the footer line, and the buttons in the
 * order shown, by neutral name: 'newer', 'older', 'export'. When the answer is a notice instead (a
 * refusal, a problem with the query, help) `title` is '' and `text` holds the notice's text; for a table
 * `text` is the whole message as read (not compared).
 */
export interface SeenTable { title: string; header: string; rows: string[]; footer: string; buttons: string[]; text: string }

/**
 * An anomaly alert card in the security channel: the title (`…：name (E-0032)`), its text lines in order
 * (detector, frozen or not, the evidence query), and the buttons by neutral decision in the order shown:
 * 'unfreeze', 'keep', 'revoke'. Once a decision is taken the card is updated in place: its LAST line is
 * the outcome (`陈静 (E-0001) 已解除冻结。`) and it has no buttons; what else it keeps (title, evidence) is
 * the platform's own and not compared.
 */
export interface SeenAlert { title: string; lines: string[]; buttons: string[] }

/** One audit record reduced to what must be the same on every platform. */
export interface TrailEntry {
  action: string;
  employeeId: string | null;
  channelKind: string;
  customerIds: string[];
  fields: string[];
  decision: string;
  reasonCode?: string;
  stage?: string;
  audience?: number;
}

export interface PlatformDriver {
  /** The platform's id as the audit log records it (an open set: every adapter's driver runs the list). */
  readonly platform: string;
  start(): Promise<void>;
  close(): Promise<void>;
  /** `text` typed by `user` in their DM with the bot. */
  lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard>;
  /** `text` asked by `user` in the team channel (answered privately), then Share clicked; returns the posted card. */
  shareInTeam(user: DemoEmployeeKey, text: string): Promise<{ own: SeenCard; shared: SeenCard }>;
  /**
   * `user` asks for access to field `groups` of a customer from its lookup card (the request form filled
   * in with `reason` and `minutes`); resolves with the request id and the card `approver` receives.
   */
  requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }>;
  /**
   * `user` clicks Reveal on the `field` line (its label) of a customer's lookup card in their DM and submits
   * the form with `reason` and `minutes`; resolves with the request id and the card `approver` receives.
   */
  requestReveal(user: DemoEmployeeKey, customerId: string, field: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }>;
  /** The lookup card reveal `requestId` was asked from, as its requester sees it once the bot has updated it `updates` times. */
  revealCard(requestId: string, updates: number): Promise<SeenCard>;
  /**
   * The harness clock moves `minutes` forward and the workers' approval sweeper runs once through its
   * real queue (test/helpers/sweep.ts `sweepNow`); resolves with the text of the first DM `user` receives
   * after the clock moved that mentions `#mention` and is not a copy of the request card (whose title
   * names the request): a grant id (the grant expired), or a request id (a reminder to an approver; the
   * "escalated to you" line the next approver gets after their copy of the card). The name is historical:
   * any sweep.
   */
  expireGrants(minutes: number, user: DemoEmployeeKey, mention: string): Promise<string>;
  /**
   * Like `expireGrants` for a request that nobody answered: the clock moves `minutes` forward (past the
   * policy's `requestTtlMinutes` since the request), the sweeper runs; resolves with every copy of request
   * `requestId`'s card (one per approver it was sent to, escalations included) once each has been updated
   * after the clock moved (status "申请已于 … 过期，未获审批", no buttons), in any order, and the text of
   * the DM `requester` receives that mentions `#requestId`.
   */
  expireRequest(minutes: number, requestId: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }>;
  /** `approver` clicks Approve; resolves with what they were answered and every copy of the card once updated. */
  approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }>;
  /**
   * `approver` clicks Deny on their copy of the request card and gives `reason` in the form that opens;
   * resolves with every copy of the card once updated and the DM `requester` receives about it. (How the
   * form itself closes is the platform's own: a Slack modal just closes, a Lark card form toasts.)
   */
  deny(approver: DemoEmployeeKey, requestId: string, reason: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }>;
  /**
   * `user` types `export …` in their DM, submits the form, `approver` approves; resolves with the CSV
   * file as delivered to the user's DM (UTF-8 text).
   */
  exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string>;
  /**
   * `user` types the audit query `query` in their DM with the bot: the words after the command, e.g.
   * `by E-0032 action:lookup purpose: 季度审计` (Slack sends it as `/audit <query>`, a text platform as
   * `audit <query>`). Resolves with the table (or notice) only `user` sees. People are named by employee
   * id, so no platform mention syntax is needed.
   */
  auditQuery(user: DemoEmployeeKey, query: string): Promise<SeenTable>;
  /**
   * `user` clicks the paging button `which` on the table `auditQuery` or `auditPage` last returned to
   * them; resolves with the page they see then (a new message, a replaced card: the platform's own way).
   */
  auditPage(user: DemoEmployeeKey, which: 'older' | 'newer'): Promise<SeenTable>;
  /**
   * The first anomaly alert card about `subject` (their employee id in its title) that the security
   * channel received and this method has not returned yet; waits for it. The driver's harness sets the
   * security channel up (Slack `CUSTOS_SECURITY_CHANNEL`, Lark `LARK_SECURITY_CHAT`, …) with the bot and
   * `admin` in it, and keeps the default policy's detectors: more than 10 refused lookups in 10 minutes
   * freeze the user and post one card.
   */
  alertCard(subject: DemoEmployeeKey): Promise<SeenAlert>;
  /**
   * `clicker` clicks `decision` on the alert card about `subject` last returned by `alertCard`, as the
   * platform sends such a click (Slack's payload carries the message it was on). Resolves with what the
   * clicker is told (a private reply, a toast; where the platform says it only on the updated card, that
   * card's outcome line), and the card as updated in place for everyone when the decision was taken, or
   * null when it was refused (the card stays as it was).
   */
  alertDecision(clicker: DemoEmployeeKey, subject: DemoEmployeeKey, decision: 'unfreeze' | 'keep' | 'revoke'): Promise<{ answer: string; card: SeenAlert | null }>;
  /**
   * The access-review worker's `cycle` job runs now through its real queue (test/helpers/access-review.ts
   * `ReviewJobs`, as its scheduler would) and has finished; review cards are then read by `reviewCard`.
   */
  runReviewCycle(): Promise<void>;
  /**
   * The review card `reviewer` received about grant `grantId` since the last `runReviewCycle`; resolves
   * with the review id its buttons carry and the card as a SeenApproval: title (`权限复核：name (E-…)`),
   * `label → value` lines, the status line, buttons 'keep' and 'revoke'.
   */
  reviewCard(reviewer: DemoEmployeeKey, grantId: string): Promise<{ reviewId: string; card: SeenApproval }>;
  /**
   * `reviewer` clicks `decision` on their card of review `reviewId`; resolves with the text only they are
   * shown, and their card as updated in place (status line saying who decided, no buttons), or null when
   * the click was refused and the card left as it was.
   */
  reviewDecision(reviewer: DemoEmployeeKey, reviewId: string, decision: 'keep' | 'revoke'): Promise<{ answer: string; card: SeenApproval | null }>;
  /** The audit records since the last call, once at least `atLeast` are stored. */
  trailSince(atLeast: number): Promise<TrailEntry[]>;
}

/** Members of the team channel every driver sets up (besides the bot). */
export const TEAM: DemoEmployeeKey[] = ['salesRep', 'financeClerk', 'supportAgent', 'legalCounsel'];
export const CUSTOMERS = 60;
export const SEED = 'slack-tests'; // both harnesses seed the same demo customers

export function trailEntry(r: Record<string, unknown>): TrailEntry {
  const meta = (r.meta ?? {}) as Record<string, unknown>;
  return {
    action: String(r.action),
    employeeId: ((r.actor ?? {}) as { employeeId?: string | null }).employeeId ?? null,
    channelKind: String(r.channelKind),
    customerIds: (r.customerIds as string[] | undefined) ?? [],
    fields: ((r.fields as { name: string; outcome: string }[] | undefined) ?? []).map((f) => `${f.name}:${f.outcome}`),
    decision: String(r.decision),
    ...(r.reasonCode ? { reasonCode: String(r.reasonCode) } : {}),
    ...(typeof meta.stage === 'string' ? { stage: meta.stage } : {}),
    ...(typeof meta.audience === 'number' ? { audience: meta.audience } : {}),
  };
}
