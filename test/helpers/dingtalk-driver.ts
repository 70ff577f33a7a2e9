// The DingTalk driver of the shared scenarios (test/scenarios): signed robot messages and card callbacks
// POSTed to custos's real endpoints (HTTP callback mode), the flows wired from the platform registry as
// `custos start` wires them, cards and files read from the fake Open API. A DingTalk card is the one
// template's string variables: `title`, `fields` (JSON `{label, value}`), `lines` (an approval card's
// `label: value` lines), `footer` (its status line) and `buttons` (JSON `{id, …}`, the id being the
// neutral action, `review_`/`security_` before a review's or an alert's), so reading them back gives the
// same SeenCard / SeenApproval / SeenAlert as the other drivers. A click's answer to the clicker is a card
// of its own in their robot chat; the clicked card (an alert, a review) is updated in place.
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { cardButtons, type DeliveredCard } from '../fakes/dingtalk.ts';
import { CUSTOMERS, SEED, TEAM, trailEntry, type PlatformDriver, type SeenAlert, type SeenApproval, type SeenCard, type SeenTable, type TrailEntry } from '../scenarios/driver.ts';
import { cardFields, cardText, DingTalkHarness, INNER_GROUP } from './dingtalk-bot.ts';
import { ReviewJobs } from './access-review.ts';
import { sweepNow } from './sweep.ts';

/** The security group alerts go to (DINGTALK_SECURITY_CONVERSATION_ID), an internal group with `admin` in it. */
const SECURITY_GROUP = 'cidSecurityGroup01';
/** The review card's line naming the grant (zh-CN, the harness's locale). */
const GRANT_LINE = '授权';

export class DingTalkDriver implements PlatformDriver {
  readonly platform = 'dingtalk' as const;
  readonly h: DingTalkHarness;
  private seen = 0;
  /** Request id → the lookup card its Reveal was clicked on (the bot updates that card in place). */
  private readonly revealOrigins = new Map<string, string>();
  /** Each user's last audit table card (its paging buttons are clicked next). */
  private readonly tables = new Map<DemoEmployeeKey, DeliveredCard>();
  /** Alert cards already returned; the last one about each subject, as posted (for its buttons). */
  private readonly alertsSeen = new Set<string>();
  private readonly alerts = new Map<DemoEmployeeKey, DeliveredCard>();
  /** Review cards returned, by `reviewId:reviewer`, as posted. */
  private readonly reviews = new Map<string, DeliveredCard>();
  private reviewJobs: ReviewJobs | undefined;
  private beforeCycle = new Set<string>();
  /**
   * The bot's and the workers' clock: scenarios move it (past a grant's end, the reminders' day). It moves
   * only then, not with the wall clock, so the times users read (10:30 Shanghai, a grant until 11:30) are the
   * golden file's however long a loaded machine takes to get there (the golden file keeps local times).
   */
  private readonly clock = stoppedClock();

  constructor(file: string) {
    this.h = new DingTalkHarness(file, {
      customers: CUSTOMERS, seed: SEED, innerMembers: TEAM, clock: this.clock, registry: true,
      groups: [{ conversationId: SECURITY_GROUP, members: ['admin'] }], env: { DINGTALK_SECURITY_CONVERSATION_ID: SECURITY_GROUP },
    });
  }

  async start(): Promise<void> { await this.h.start(); }
  async close(): Promise<void> {
    await this.reviewJobs?.close();
    await this.h.close();
  }

  async lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard> {
    return seen(await this.h.ask(user, text));
  }

  async shareInTeam(user: DemoEmployeeKey, text: string): Promise<{ own: SeenCard; shared: SeenCard }> {
    // Asked with an @mention in the team group: the answer comes to the asker's 1:1 robot chat.
    const mine = await this.h.ask(user, text, INNER_GROUP);
    const before = this.known();
    await this.h.click(user, mine, 'share');
    const posted = await this.newCard(`group:${INNER_GROUP}`, before);
    // The asker is also told it was shared (a card without a title in their robot chat), sent after the
    // group's card. Waited for here: left in flight, it lands in the next scenario, whose lookup takes it
    // for its answer (seen once under the suite's load).
    await this.newCard(this.robot(user), before, (c) => !c.params.title);
    return { own: seen(mine), shared: seen(posted) };
  }

  async requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.h.ask(user, customerId);
    return this.submitFrom(user, lookup, 'access', { purpose: reason, duration: String(minutes), groups }, approver);
  }

  async requestReveal(user: DemoEmployeeKey, customerId: string, field: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.h.ask(user, customerId);
    const request = await this.submitFrom(user, lookup, 'reveal', { purpose: reason, duration: String(minutes) }, approver, (t) => t.includes(field));
    this.revealOrigins.set(request.requestId, lookup.outTrackId);
    return request;
  }

  async revealCard(requestId: string, updates: number): Promise<SeenCard> {
    const outTrackId = this.revealOrigins.get(requestId);
    if (!outTrackId) throw new Error(`no reveal card of ${requestId}`);
    const card = await this.h.fake.waitForCard((c) => c.outTrackId === outTrackId && c.updates.length >= updates);
    return seen({ ...card, params: card.updates[updates - 1]! });
  }

  async expireGrants(minutes: number, user: DemoEmployeeKey, mention: string): Promise<string> {
    const before = this.known();
    this.clock.advance(minutes * 60_000);
    await sweepNow(this.h.config);
    // A DM, not a copy of the request's card (an escalation delivers the card, then says why).
    return cardText(await this.newCard(this.robot(user), before, (c) => cardText(c).includes(`#${mention}`) && !isCopyOf(c, mention)));
  }

  async expireRequest(minutes: number, requestId: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const copies = this.updateCounts(requestId);
    const told = await this.expireGrants(minutes, requester, requestId);
    return { copies: await this.updatedCopies(copies), told };
  }

  async approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }> {
    const card = await this.cardOf(approver, requestId);
    const copies = this.updateCounts(requestId);
    const before = this.known();
    await this.h.click(approver, card, 'approve');
    // The clicker's answer is a card of its own in their robot chat (copies are updated in place).
    const answer = await this.newCard(this.robot(approver), before, (c) => !isCopyOf(c, requestId));
    return { answer: cardText(answer), copies: await this.updatedCopies(copies) };
  }

  async deny(approver: DemoEmployeeKey, requestId: string, reason: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const card = await this.cardOf(approver, requestId);
    let before = this.known();
    await this.h.click(approver, card, 'deny');
    const form = await this.newCard(this.robot(approver), before, hasInputs);
    const copies = this.updateCounts(requestId);
    before = this.known();
    await this.h.click(approver, form, 'form_deny', { reason });
    const told = await this.newCard(this.robot(requester), before, (c) => cardText(c).includes(reason));
    return { copies: await this.updatedCopies(copies), told: cardText(told) };
  }

  async exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string> {
    const form = await this.h.ask(user, command);
    if (!hasInputs(form)) throw new Error(`no export form: ${cardText(form)}`);
    const { requestId } = await this.submit(user, form, { purpose: reason, duration: String(minutes) }, approver);
    const files = this.h.fake.files.length;
    await this.h.click(approver, await this.cardOf(approver, requestId), 'approve');
    const file = await this.h.fake.waitForFile((f) => this.h.fake.files.indexOf(f) >= files && f.userId === this.h.userId(user));
    return file.text;
  }

  /** `audit <query>` typed in the robot chat; the table card (or notice) that answers it. */
  async auditQuery(user: DemoEmployeeKey, query: string): Promise<SeenTable> {
    const card = await this.h.ask(user, `audit ${query}`);
    this.tables.set(user, card);
    return tableSeen(card);
  }

  /** Older / Newer on the user's last table (both are `audit_page` buttons: told apart by their label); the page comes as a new card. */
  async auditPage(user: DemoEmployeeKey, which: 'older' | 'newer'): Promise<SeenTable> {
    const last = this.tables.get(user);
    if (!last) throw new Error(`no audit table of ${user}`);
    const before = this.known();
    await this.h.click(user, last, 'audit_page', {}, (t) => PAGE_LABEL[which].test(t));
    const card = await this.newCard(this.robot(user), before);
    this.tables.set(user, card);
    return tableSeen(card);
  }

  async alertCard(subject: DemoEmployeeKey): Promise<SeenAlert> {
    const id = this.h.employees[subject].employeeId;
    const card = await this.h.fake.waitForCard((c) => c.space === `group:${SECURITY_GROUP}` && (c.params.title ?? '').includes(`(${id})`) && !this.alertsSeen.has(c.outTrackId), 120_000);
    this.alertsSeen.add(card.outTrackId);
    // The fake updates a card in place: the card as posted is kept for its buttons.
    this.alerts.set(subject, asPosted(card));
    return alertSeen(card);
  }

  async alertDecision(clicker: DemoEmployeeKey, subject: DemoEmployeeKey, decision: 'unfreeze' | 'keep' | 'revoke'): Promise<{ answer: string; card: SeenAlert | null }> {
    const alert = this.alerts.get(subject);
    if (!alert) throw new Error(`no alert card about ${subject}`);
    const { answer, updated } = await this.decide(clicker, alert, `security_${decision}`);
    return { answer, card: updated && alertSeen(updated) };
  }

  /** The review worker's cycle through its real queue; the cards it delivers are those after this point. */
  async runReviewCycle(): Promise<void> {
    this.reviewJobs ??= await new ReviewJobs(this.h.prefix).ready();
    // The review counts the lookups made before it runs; on this stopped clock the grants' lookups just
    // made would be at its very instant, so a moment passes first, as it does on every real platform.
    this.clock.advance(1000);
    this.beforeCycle = this.known();
    await this.reviewJobs.run('cycle');
  }

  async reviewCard(reviewer: DemoEmployeeKey, grantId: string): Promise<{ reviewId: string; card: SeenApproval }> {
    const card = await this.newCard(this.robot(reviewer), this.beforeCycle, (c) => approvalSeen(c).fields.get(GRANT_LINE) === grantId && cardButtons(c).some((b) => b.id === 'review_keep'));
    const reviewId = cardButtons(card).find((b) => b.id === 'review_revoke')!.value;
    this.reviews.set(`${reviewId}:${reviewer}`, asPosted(card));
    return { reviewId, card: approvalSeen(card) };
  }

  async reviewDecision(reviewer: DemoEmployeeKey, reviewId: string, decision: 'keep' | 'revoke'): Promise<{ answer: string; card: SeenApproval | null }> {
    const card = this.reviews.get(`${reviewId}:${reviewer}`);
    if (!card) throw new Error(`no review card ${reviewId} of ${reviewer}`);
    const { answer, updated } = await this.decide(reviewer, card, `review_${decision}`);
    return { answer, card: updated && approvalSeen(updated) };
  }

  async trailSince(atLeast: number): Promise<TrailEntry[]> {
    const all = await this.h.auditRecords({}, this.seen + atLeast);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh.map(trailEntry);
  }

  /** Clicks `button` on `card` (Request access, Reveal …), fills the form card that opens and submits it. */
  private async submitFrom(user: DemoEmployeeKey, card: DeliveredCard, button: string, inputs: Record<string, unknown>, approver: DemoEmployeeKey, match?: (text: string) => boolean): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const before = this.known();
    await this.h.click(user, card, button, {}, match);
    return this.submit(user, await this.newCard(this.robot(user), before, hasInputs), inputs, approver);
  }

  /** Submits a request form card; the submitted form turns into the request's id, `approver` gets its card. */
  private async submit(user: DemoEmployeeKey, form: DeliveredCard, inputs: Record<string, unknown>, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    await this.h.click(user, form, 'form_request', inputs);
    const submitted = await this.h.fake.waitForCard((c) => c.outTrackId === form.outTrackId && c.updates.length > 0);
    const requestId = /#(R-[A-P]{10})/.exec(cardText(submitted))?.[1];
    if (!requestId) throw new Error(`request refused: ${cardText(submitted)}`);
    return { requestId, approverCard: approvalSeen(await this.cardOf(approver, requestId)) };
  }

  /**
   * `clicker` clicks `button` on `card` (as posted); once the bot has finished with the click, what they
   * were told (a card of its own in their robot chat) and the clicked card as updated, or null when it was
   * left as it was (a refused click).
   */
  private async decide(clicker: DemoEmployeeKey, card: DeliveredCard, button: string): Promise<{ answer: string; updated: DeliveredCard | null }> {
    const updates = this.h.fake.cards.get(card.outTrackId)!.updates.length;
    const before = this.known();
    await this.h.click(clicker, card, button);
    await this.h.bot.handlers.drain();
    const answer = await this.newCard(this.robot(clicker), before, (c) => !c.params.title);
    const now = this.h.fake.cards.get(card.outTrackId)!;
    return { answer: cardText(answer), updated: now.updates.length > updates ? { ...now, params: now.updates.at(-1)! } : null };
  }

  private robot(key: DemoEmployeeKey): string { return `robot:${this.h.userId(key)}`; }
  private known(): Set<string> { return new Set(this.h.fake.cards.keys()); }

  private newCard(space: string, before: Set<string>, pred: (c: DeliveredCard) => boolean = () => true): Promise<DeliveredCard> {
    return this.h.fake.waitForCard((c) => c.space === space && !before.has(c.outTrackId) && pred(c));
  }

  /** `approver`'s copy of request `requestId`'s card (as first delivered). */
  private cardOf(approver: DemoEmployeeKey, requestId: string): Promise<DeliveredCard> {
    return this.h.fake.waitForCard((c) => c.space === this.robot(approver) && isCopyOf(c, requestId));
  }

  /** How many times each copy of the request's card has been updated so far. */
  private updateCounts(requestId: string): Map<string, number> {
    return new Map([...this.h.fake.cards.values()].filter((c) => isCopyOf(c, requestId)).map((c) => [c.outTrackId, c.updates.length]));
  }

  /** Every copy once updated again since `before` was taken; what each shows now. */
  private async updatedCopies(before: Map<string, number>): Promise<SeenApproval[]> {
    const updated = await Promise.all([...before].map(([id, n]) => this.h.fake.waitForCard((c) => c.outTrackId === id && c.updates.length > n)));
    return updated.map((c) => approvalSeen({ ...c, params: c.updates.at(-1)! }));
  }
}

/** A copy of a request card: its title names the request (the DMs that mention it do not have it in a title). */
function isCopyOf(c: DeliveredCard, requestId: string): boolean {
  return (c.params.title ?? '').includes(`#${requestId}`);
}

function hasInputs(c: DeliveredCard): boolean {
  return (JSON.parse(c.params.inputs ?? '[]') as unknown[]).length > 0;
}

function seen(c: DeliveredCard): SeenCard {
  return { title: c.params.title ?? '', fields: cardFields(c), text: cardText(c), shareable: cardButtons(c).some((b) => b.id === 'share') };
}

/** Title; the `label: value` lines, split at the first ": " (a label under a grant holds a time, 03:35); the footer as status; the buttons' ids. */
function approvalSeen(c: DeliveredCard): SeenApproval {
  const fields = new Map<string, string>();
  for (const line of JSON.parse(c.params.lines ?? '[]') as string[]) {
    const m = /^(.+?): (.*)$/s.exec(line);
    if (m) fields.set(m[1]!, m[2]!);
  }
  return { title: c.params.title ?? '', fields, status: c.params.footer ?? '', buttons: cardButtons(c).map((b) => neutral(b.id)) };
}

/** A button's neutral decision: a review's and an alert's ids carry a prefix (`review_keep`, `security_unfreeze`). */
function neutral(id: string): string {
  return id.replace(/^(review|security)_/, '');
}

/** An alert card: its title, its lines (the outcome last once acted on), its buttons (none then). */
function alertSeen(c: DeliveredCard): SeenAlert {
  return { title: c.params.title ?? '', lines: JSON.parse(c.params.lines ?? '[]') as string[], buttons: cardButtons(c).map((b) => neutral(b.id)) };
}

/** The card as delivered, apart from the fake's record (which later updates change). */
function asPosted(c: DeliveredCard): DeliveredCard {
  return { ...c, params: { ...c.params }, updates: [...c.updates] };
}

const PAGE_LABEL = { older: /更早|Older/, newer: /更新|Newer/ };

/** An audit table card: title, `lines` = [column header, …rows], footer, buttons by neutral name; a notice has no title. */
function tableSeen(c: DeliveredCard): SeenTable {
  const text = cardText(c);
  const title = c.params.title ?? '';
  if (!title) return { title: '', header: '', rows: [], footer: '', buttons: [], text };
  const [header = '', ...rows] = JSON.parse(c.params.lines ?? '[]') as string[];
  const name = (b: { id: string; text: string }) => (b.id === 'audit_export' ? 'export' : PAGE_LABEL.older.test(b.text) ? 'older' : 'newer');
  return { title, header, rows, footer: c.params.footer ?? '', buttons: cardButtons(c).map(name), text };
}

/** The harness's workday (a Tuesday, 10:30 in Shanghai), moved only by `advance`. */
function stoppedClock(start = Date.parse('2026-06-30T02:30:00Z')): { now(): Date; advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(start + offset), advance: (ms) => { offset += ms; } };
}
