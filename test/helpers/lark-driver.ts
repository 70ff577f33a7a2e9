// The Lark driver of the shared scenarios (test/scenarios): signed, encrypted pushes to the real Lark
// endpoint; cards read from the fake Open API.
import { demoEmployee, type DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { ACTION_AUDIT_EXPORT, ACTION_AUDIT_PAGE } from '../../bot/lark/audit-cards.ts';
import { LARK_ACTION_REVIEW } from '../../bot/lark/review-cards.ts';
import { ACTION_SECURITY } from '../../bot/lark/security-cards.ts';
import { cardButtons, cardFieldMap, cardFormFields, cardText, type SentMessage } from '../fakes/lark-api.ts';
import { CUSTOMERS, SEED, TEAM, trailEntry, type PlatformDriver, type SeenAlert, type SeenApproval, type SeenCard, type SeenTable, type TrailEntry } from '../scenarios/driver.ts';
import { LarkHarness, openIdOf, PUBLIC_GROUP } from './lark-bot.ts';
import { movableClock } from './slack-approval.ts';
import { sweepNow } from './sweep.ts';
import { ReviewJobs } from './access-review.ts';

const SECURITY_CHAT = 'oc_security';
/** The review card's line naming the grant (zh-CN, the harness's locale; reviewers here read Chinese). */
const GRANT_LINE = '授权';

export class LarkDriver implements PlatformDriver {
  readonly platform = 'lark' as const;
  readonly h: LarkHarness;
  private seen = 0;
  private readonly approverCards = new Map<string, SentMessage>();
  /** Request id → the lookup card its Reveal was clicked on (the bot patches that message). */
  private readonly revealOrigins = new Map<string, SentMessage>();
  /** The bot's and the workers' clock: the reveal scenario moves it past a grant's end. */
  private readonly clock = movableClock();
  /** Each user's last audit table: the message clicked for a page, and the card it shows now. */
  private readonly tables = new Map<DemoEmployeeKey, { message: SentMessage; card: Record<string, unknown> }>();
  /** Alert cards already returned, and the last one about each subject (as posted, for its buttons). */
  private readonly alertsSeen = new Set<SentMessage>();
  private readonly alerts = new Map<DemoEmployeeKey, { message: SentMessage; card: Record<string, unknown> }>();
  /** Review cards returned, by `reviewId:reviewer`. */
  private readonly reviews = new Map<string, SentMessage>();
  private reviewJobs: ReviewJobs | undefined;
  private reviewCycleAt = 0;

  constructor(file: string) {
    // Callbacks answer with their outcome however loaded the machine (the 3 s budget is lark-flows' subject).
    this.h = new LarkHarness(file, {
      customers: CUSTOMERS, seed: SEED, publicMembers: TEAM, clock: this.clock, overrides: { callbackBudgetMs: 60_000 },
      extraEnv: { LARK_SECURITY_CHAT: SECURITY_CHAT },
      extraChats: [{ chatId: SECURITY_CHAT, mode: 'group', type: 'private', members: [openIdOf(demoEmployee('admin'))] }],
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
    const mine = await this.h.ask(user, text, PUBLIC_GROUP);
    const share = cardButtons(mine.card).find((b) => b.value.a === 'share');
    if (!share) throw new Error('no share button on the Lark card');
    const before = this.h.fake.sentTo(PUBLIC_GROUP).length;
    const click = await this.h.click(user, mine, share.value);
    if (click.status !== 200) throw new Error(`share click answered ${click.status}`);
    const posted = await this.h.fake.waitFor((m) => m.receiveId === PUBLIC_GROUP && this.h.fake.sentTo(PUBLIC_GROUP).indexOf(m) >= before);
    return { own: seen(mine), shared: seen(posted) };
  }

  async requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.h.ask(user, customerId);
    const access = cardButtons(lookup.card).find((b) => b.value.a === 'access');
    if (!access) throw new Error('no Request access button on the Lark card');
    return this.submitFrom(user, lookup, access.value, { reason, duration: String(minutes), groups }, approver);
  }

  async requestReveal(user: DemoEmployeeKey, customerId: string, field: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.h.ask(user, customerId);
    const reveal = cardButtons(lookup.card).find((b) => b.value.a === 'reveal' && b.label.includes(field));
    if (!reveal) throw new Error(`no Reveal ${field} button on the Lark card`);
    const request = await this.submitFrom(user, lookup, reveal.value, { reason, duration: String(minutes) }, approver);
    this.revealOrigins.set(request.requestId, lookup);
    return request;
  }

  async revealCard(requestId: string, updates: number): Promise<SeenCard> {
    const lookup = this.revealOrigins.get(requestId);
    if (!lookup) throw new Error(`no reveal card of ${requestId}`);
    const patched = await this.h.fake.waitFor((m) => m === lookup && m.patches.length >= updates);
    return seen({ ...patched, card: patched.patches[updates - 1]! });
  }

  async expireGrants(minutes: number, user: DemoEmployeeKey, mention: string): Promise<string> {
    const n = this.h.fake.sent().length;
    this.clock.advance(minutes * 60_000);
    await sweepNow(this.h.config);
    // A DM, not a copy of the request's card (an escalation posts the card, then says why).
    const dm = await this.h.fake.waitFor((m) => this.h.fake.sent().indexOf(m) >= n && m.receiveId === this.h.openId(user)
      && cardText(m.card).includes(`#${mention}`) && !titleOf(m.card).includes(`#${mention}`));
    return cardText(dm.card);
  }

  /** Clicks `button` on `card`, submits the form that arrives with `values`; the request id and `approver`'s card. */
  private async submitFrom(user: DemoEmployeeKey, card: SentMessage, button: Record<string, string>, values: Record<string, unknown>, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const n = this.h.fake.sent().length;
    const after = (m: SentMessage) => this.h.fake.sent().indexOf(m) >= n;
    await this.h.click(user, card, button);
    const form = await this.h.fake.waitFor((m) => after(m) && m.receiveId === this.h.openId(user) && cardFormFields(m.card).includes('reason'));
    const submit = cardButtons(form.card).find((b) => b.value.a === 'request_submit')!;
    const res = await this.h.click(user, form, submit.value, values);
    const requestId = /#(R-[A-P]{10})/.exec(res.answer.toast?.content ?? '')?.[1];
    if (!requestId) throw new Error(`request not submitted: ${res.answer.toast?.content ?? ''}`);
    const approverCard = await this.h.fake.waitFor((m) => after(m) && m.receiveId === this.h.openId(approver) && cardText(m.card).includes(requestId));
    this.approverCards.set(`${requestId}:${approver}`, approverCard);
    return { requestId, approverCard: approvalSeen(approverCard) };
  }

  async approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }> {
    const card = await this.cardOf(approver, requestId);
    const patched = this.patchCounts(requestId);
    const res = await this.h.click(approver, card, { a: 'approve', r: requestId });
    return { answer: res.answer.toast?.content ?? '', copies: await this.updatedCopies(patched) };
  }

  async deny(approver: DemoEmployeeKey, requestId: string, reason: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const card = await this.cardOf(approver, requestId);
    const n = this.h.fake.sent().length;
    const opened = await this.h.click(approver, card, { a: 'deny', r: requestId });
    const submit = cardButtons(opened.answer.card?.data).find((b) => b.value.a === 'deny_submit');
    if (!submit) throw new Error(`no deny form: ${opened.answer.toast?.content ?? ''}`);
    const patched = this.patchCounts(requestId);
    const res = await this.h.click(approver, card, submit.value, { reason });
    if (!res.answer.toast?.content?.includes(requestId)) throw new Error(`deny refused: ${res.answer.toast?.content ?? ''}`);
    const told = await this.h.fake.waitFor((m) => this.h.fake.sent().indexOf(m) >= n && m.receiveId === this.h.openId(requester) && cardText(m.card).includes(reason));
    return { copies: await this.updatedCopies(patched), told: cardText(told.card) };
  }

  /** `approver`'s copy of request `requestId`'s card (they may be its second approver, asked at once). */
  private async cardOf(approver: DemoEmployeeKey, requestId: string): Promise<SentMessage> {
    const known = this.approverCards.get(`${requestId}:${approver}`);
    if (known) return known;
    const card = await this.h.fake.waitFor((m) => m.receiveId === this.h.openId(approver) && cardText(m.card).startsWith(approvalTitlePrefix(m, requestId)));
    this.approverCards.set(`${requestId}:${approver}`, card);
    return card;
  }

  /** How many times each copy of the request's card has been patched so far. */
  private patchCounts(requestId: string): Map<SentMessage, number> {
    const copies = this.h.fake.sent().filter((m) => cardText(m.card).startsWith(approvalTitlePrefix(m, requestId)));
    return new Map(copies.map((m) => [m, m.patches.length]));
  }

  /** Every copy once patched again since `before` was taken; what each shows now. */
  private async updatedCopies(before: Map<SentMessage, number>): Promise<SeenApproval[]> {
    const updated = await Promise.all([...before].map(([m, n]) => this.h.fake.waitFor((x) => x === m && x.patches.length > n)));
    return updated.map(approvalSeen);
  }

  async exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string> {
    const n = this.h.fake.sent().length;
    const form = await this.h.ask(user, command);
    const submit = cardButtons(form.card).find((b) => b.value.a === 'request_submit');
    if (!submit) throw new Error(`no export form: ${cardText(form.card)}`);
    const res = await this.h.click(user, form, submit.value, { reason, duration: String(minutes) });
    const requestId = /#(R-[A-P]{10})/.exec(res.answer.toast?.content ?? '')?.[1];
    if (!requestId) throw new Error(`export not requested: ${res.answer.toast?.content ?? ''}`);
    const card = await this.h.fake.waitFor((m) => this.h.fake.sent().indexOf(m) >= n && m.receiveId === this.h.openId(approver) && cardText(m.card).includes(requestId));
    await this.h.click(approver, card, { a: 'approve', r: requestId });
    const file = await this.h.fake.waitFor((m) => this.h.fake.sent().indexOf(m) >= n && m.msgType === 'file' && m.receiveId === this.h.openId(user), 60_000);
    return this.h.fake.files.get(file.fileKey!)!.bytes.toString('utf8');
  }

  async expireRequest(minutes: number, requestId: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const patched = this.patchCounts(requestId);
    const told = await this.expireGrants(minutes, requester, requestId);
    return { copies: await this.updatedCopies(patched), told };
  }

  async auditQuery(user: DemoEmployeeKey, query: string): Promise<SeenTable> {
    const reply = await this.h.ask(user, `audit ${query}`);
    this.tables.set(user, { message: reply, card: reply.card ?? {} });
    return tableSeen(reply.card);
  }

  async auditPage(user: DemoEmployeeKey, which: 'older' | 'newer'): Promise<SeenTable> {
    const last = this.tables.get(user);
    const label = which === 'older' ? /更早|Older/ : /更新|Newer/;
    const button = last && cardButtons(last.card).find((b) => b.value.a === ACTION_AUDIT_PAGE && label.test(b.label));
    if (!last || !button) throw new Error(`no ${which} button on ${user}'s last audit table`);
    // The page replaces the clicked card: it comes back as the callback's card.
    const res = await this.h.click(user, last.message, button.value);
    const card = res.answer.card?.data;
    if (!card) throw new Error(`no page in the answer: ${res.answer.toast?.content ?? res.status}`);
    this.tables.set(user, { message: last.message, card });
    return tableSeen(card);
  }

  async alertCard(subject: DemoEmployeeKey): Promise<SeenAlert> {
    const id = this.h.employees[subject].employeeId;
    const card = await this.h.fake.waitFor((m) => m.receiveId === SECURITY_CHAT && titleOf(m.card).includes(`(${id})`) && !this.alertsSeen.has(m), 120_000);
    this.alertsSeen.add(card);
    // The fake patches a message in place: the card as posted is kept for its buttons.
    this.alerts.set(subject, { message: card, card: card.card! });
    return alertSeen(card.card);
  }

  async alertDecision(clicker: DemoEmployeeKey, subject: DemoEmployeeKey, decision: 'unfreeze' | 'keep' | 'revoke'): Promise<{ answer: string; card: SeenAlert | null }> {
    const alert = this.alerts.get(subject);
    const button = alert && cardButtons(alert.card).find((b) => b.value.a === ACTION_SECURITY[decision]);
    if (!alert || !button) throw new Error(`no ${decision} button on the alert card about ${subject}`);
    const res = await this.h.click(clicker, alert.message, button.value);
    const card = res.answer.card?.data;
    return { answer: res.answer.toast?.content ?? '', card: card ? alertSeen(card) : null };
  }

  async runReviewCycle(): Promise<void> {
    this.reviewJobs ??= await new ReviewJobs(this.h.prefix).ready();
    this.reviewCycleAt = this.h.fake.sent().length;
    await this.reviewJobs.run('cycle');
  }

  async reviewCard(reviewer: DemoEmployeeKey, grantId: string): Promise<{ reviewId: string; card: SeenApproval }> {
    const since = this.reviewCycleAt;
    const card = await this.h.fake.waitFor((m) => this.h.fake.sent().indexOf(m) >= since && m.receiveId === this.h.openId(reviewer)
      && cardButtons(m.card).some((b) => b.value.a === LARK_ACTION_REVIEW.keep) && cardFieldMap(m.card).get(GRANT_LINE) === grantId);
    const reviewId = cardButtons(card.card).find((b) => b.value.a === LARK_ACTION_REVIEW.revoke)!.value.r!;
    this.reviews.set(`${reviewId}:${reviewer}`, card);
    return { reviewId, card: reviewSeen(card.card) };
  }

  async reviewDecision(reviewer: DemoEmployeeKey, reviewId: string, decision: 'keep' | 'revoke'): Promise<{ answer: string; card: SeenApproval | null }> {
    const card = this.reviews.get(`${reviewId}:${reviewer}`);
    if (!card) throw new Error(`no review card ${reviewId} of ${reviewer}`);
    const res = await this.h.click(reviewer, card, { a: LARK_ACTION_REVIEW[decision], r: reviewId });
    const updated = res.answer.card?.data;
    return { answer: res.answer.toast?.content ?? '', card: updated ? reviewSeen(updated) : null };
  }

  async trailSince(atLeast: number): Promise<TrailEntry[]> {
    const all = await this.h.auditRecords({}, this.seen + atLeast);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh.map(trailEntry);
  }
}

function seen(m: SentMessage): SeenCard {
  const text = cardText(m.card);
  const header = (m.card?.header as { title?: { content?: string } } | undefined)?.title?.content ?? '';
  return { title: header, fields: fieldLines(text), text, shareable: cardButtons(m.card).some((b) => b.value.a === 'share') };
}

/** `label: value` lines, split at the first ": " (a revealed field's label holds a time, 03:35, so a colon). */
function fieldLines(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([^【]+?): (.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

/** The title a copy of request `requestId`'s card starts with (its header), or a string no card starts with. */
function approvalTitlePrefix(m: SentMessage, requestId: string): string {
  const title = (m.card?.header as { title?: { content?: string } } | undefined)?.title?.content ?? '';
  return title.includes(`#${requestId}`) ? title : '\u0000';
}

/** Elements: the `label: value` lines, a rule, the status line, then the buttons. */
function approvalSeen(m: SentMessage): SeenApproval {
  const elements = ((m.card?.body as { elements?: { tag: string; text?: { content?: string } }[] } | undefined)?.elements) ?? [];
  const title = (m.card?.header as { title?: { content?: string } } | undefined)?.title?.content ?? '';
  // cardFieldMap reads the header too: an English title (`Access request #R-…: Access to field groups`) is no field.
  const fields = new Map([...cardFieldMap(m.card)].filter(([k, v]) => `${k}: ${v}` !== title));
  return { title, fields, status: elements[2]?.text?.content ?? '', buttons: cardButtons(m.card).map((b) => b.value.a ?? '') };
}

type Element = { tag: string; text?: { content?: string }; behaviors?: unknown };
const elementsOf = (card: Record<string, unknown> | undefined) => ((card?.body as { elements?: Element[] } | undefined)?.elements) ?? [];
const titleOf = (card: Record<string, unknown> | undefined) => (card?.header as { title?: { content?: string } } | undefined)?.title?.content ?? '';
const textsOf = (elements: Element[]) => elements.filter((e) => e.tag !== 'button' && e.text?.content !== undefined).map((e) => e.text!.content!);

/** Buttons by neutral name: a page button by its label (both carry `audit_page`), the rest by their action. */
function neutralButtons(card: Record<string, unknown> | undefined): string[] {
  return cardButtons(card).map((b) => {
    if (b.value.a === ACTION_AUDIT_PAGE) return /更早|Older/.test(b.label) ? 'older' : 'newer';
    if (b.value.a === ACTION_AUDIT_EXPORT) return 'export';
    const security = Object.entries(ACTION_SECURITY).find(([, a]) => a === b.value.a);
    return security ? security[0] : (b.value.a ?? '').replace(/^review_/, '');
  });
}

/** An audit table: rows in text blocks (the first starts with the header line), a rule, the footer. A notice has no rule. */
function tableSeen(card: Record<string, unknown> | undefined): SeenTable {
  const elements = elementsOf(card);
  const text = cardText(card);
  const rule = elements.findIndex((e) => e.tag === 'hr');
  if (rule < 0) return { title: '', header: '', rows: [], footer: '', buttons: [], text };
  const lines = textsOf(elements.slice(0, rule)).flatMap((t) => t.split('\n'));
  const empty = lines.length === 1 && !lines[0]!.includes(' · ');
  return {
    title: titleOf(card), header: empty ? '' : lines[0] ?? '', rows: empty ? [] : lines.slice(1),
    footer: textsOf(elements.slice(rule + 1))[0] ?? '', buttons: neutralButtons(card), text,
  };
}

/** An alert card: its title, its text lines, its buttons (none once acted on). */
function alertSeen(card: Record<string, unknown> | undefined): SeenAlert {
  return { title: titleOf(card), lines: textsOf(elementsOf(card)).flatMap((t) => t.split('\n')), buttons: neutralButtons(card) };
}

/** A review card: the `label: value` lines, a rule, the status line, Keep / Revoke. */
function reviewSeen(card: Record<string, unknown> | undefined): SeenApproval {
  const elements = elementsOf(card);
  const rule = elements.findIndex((e) => e.tag === 'hr');
  return {
    title: titleOf(card), fields: fieldLines(textsOf(elements.slice(0, rule < 0 ? elements.length : rule)).join('\n')),
    status: rule < 0 ? '' : textsOf(elements.slice(rule + 1))[0] ?? '', buttons: neutralButtons(card),
  };
}
