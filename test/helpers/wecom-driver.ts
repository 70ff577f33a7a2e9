// The WeCom driver of the shared scenarios (test/scenarios): encrypted, signed callbacks (msg_signature +
// AES, as WeCom sends them) to the real bot's /wecom/callback; what members read taken from the fake
// WeCom API's messages. The bot runs as `custos start` runs it (bot/wecom/module.ts: the flows from the
// platform registry), and the workers find WeCom in the process environment as they do there.
//
// What a WeCom member sees, normalised to the scenarios' terms:
//  - a reply is a text message (title, `【group】` blocks of `label: value` lines, `——`, footer) and,
//    when it has buttons, a `button_interaction` card after it; a notice is a text alone;
//  - a request card copy is its text (title, lines, `——`, status) and its card's buttons; a copy's later
//    state is the newest text about the request sent to that reader, and its buttons are gone once the
//    card's one update (a response_code) has replaced them;
//  - a form is a prompt, answered by the member's next message (`groups minutes purpose`, or the reason);
//  - a help is a text of several lines, its first the title; an audit table is its text and the card
//    of its page buttons (both `audit_page`, told apart by their label);
//  - an alert goes to each security member (WECOM_SECURITY_USERS), a review card to the reviewer: each a
//    text and its card; a click decided on it spends the card's one update and is followed by the reply
//    saying the outcome, which is then the card's last line (alert) or status (review).
// Every callback's work runs after its HTTP answer; the driver waits for the bot to finish it
// (handlers.drain) before reading, so a late message is never taken for the next reply.
import { demoEmployee, type DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { botFlows } from '../../bot/runtime/chat-flows.ts';
import { CUSTOMERS, SEED, trailEntry, type PlatformDriver, type SeenAlert, type SeenApproval, type SeenCard, type SeenTable, type TrailEntry } from '../scenarios/driver.ts';
import type { WeComMessage } from '../fakes/wecom.ts';
import { ReviewJobs } from './access-review.ts';
import { movableClock } from './slack-approval.ts';
import { sweepNow } from './sweep.ts';
import { userIdOf, WeComHarness } from './wecom-bot.ts';

/**
 * Who receives alert cards (WECOM_SECURITY_USERS): the admin, and a sales lead on the security desk
 * without the admin's rights (an application message reaches members one by one, so a member who
 * clicks an alert is one it was sent to: the lead's Unfreeze is refused on the lead's own copy).
 */
const SECURITY_USERS: DemoEmployeeKey[] = ['admin', 'salesLeadEast'];
/** The line of a prompt that waits for the member's next message (reasons.ts), in either locale. */
const PROMPT = /10 分钟内回复|Reply within 10 minutes/;
/** The review card's line naming the grant (zh-CN: the reviewers here read Chinese). */
const GRANT_LINE = '授权';

/** A card as a member reads it on WeCom: the text sent before it, and the button card. */
interface TextAndCard { text: WeComMessage; card: WeComMessage }

export class WeComDriver implements PlatformDriver {
  readonly platform = 'wecom' as const;
  readonly h: WeComHarness;
  private seen = 0;
  /** The bot's and the workers' clock: the reveal scenario moves it past a grant's end. */
  private readonly clock = movableClock();
  /** Request id → the requester and the lookup card's title its Reveal was clicked on (the reveal arrives as new messages). */
  private readonly revealOrigins = new Map<string, { user: DemoEmployeeKey; title: string; since: number }>();
  /** Messages that answered a lookup the driver typed (so never taken for a reveal). */
  private readonly replies = new Set<WeComMessage>();
  /** The card of the audit table each user was last answered with (its paging buttons). */
  private readonly tables = new Map<DemoEmployeeKey, WeComMessage>();
  /** What a WeCom application cannot do (the scenario list skips what needs it). */
  readonly lacks = ['teamChannel'] as const;
  /** Alert copies already returned, and each subject's last alert: one copy per security member. */
  private readonly alertsSeen = new Set<WeComMessage>();
  private readonly alerts = new Map<DemoEmployeeKey, Map<DemoEmployeeKey, TextAndCard>>();
  /** Review cards returned, by `reviewId:reviewer`. */
  private readonly reviews = new Map<string, TextAndCard>();
  private reviewJobs: ReviewJobs | undefined;
  private reviewCycleAt = 0;

  constructor(file: string) {
    this.h = new WeComHarness(file, {
      customers: CUSTOMERS, seed: SEED, clock: this.clock, processEnv: true,
      extraEnv: { WECOM_SECURITY_USERS: SECURITY_USERS.map((k) => userIdOf(demoEmployee(k))).join('|') },
      overrides: {
        // As bot/wecom/module.ts wires them: requests, decisions and reviews notified through the registry.
        flows: ({ services, config }) => botFlows(services, config, this.h.logger, 'wecom'),
      },
    });
  }

  async start(): Promise<void> { await this.h.start(); }
  async close(): Promise<void> {
    await this.reviewJobs?.close();
    await this.h.close();
  }

  private uid(key: DemoEmployeeKey): string { return this.h.userId(key); }
  private get fake() { return this.h.fake; }

  /** Sends one callback and waits until the bot has done its work; the messages sent meanwhile. */
  private async deliver(fields: Record<string, string>): Promise<WeComMessage[]> {
    const n = this.fake.messages.length;
    const res = await this.h.driver.send(fields);
    if (res.status !== 200) throw new Error(`callback answered ${res.status}`);
    await this.h.bot.handlers.drain();
    return this.fake.messages.slice(n);
  }

  /** `text` typed by `user`; what they were sent in answer (their messages only). */
  private async say(user: DemoEmployeeKey, text: string): Promise<WeComMessage[]> {
    return (await this.deliver(this.h.textFields(this.uid(user), text))).filter((m) => m.touser === this.uid(user));
  }

  /** A click on `card`'s button `key`; what the clicker was sent in answer. */
  private async click(card: WeComMessage, key: string): Promise<WeComMessage[]> {
    return (await this.deliver(this.fake.click(card, key))).filter((m) => m.touser === card.touser);
  }

  /** The reply among `sent`: its text and the card after it, if any. */
  private reply(sent: WeComMessage[]): { text: WeComMessage; card?: WeComMessage } {
    const at = sent.findIndex((m) => m.msgtype === 'text');
    if (at < 0) throw new Error(`no reply: ${JSON.stringify(sent)}`);
    const card = sent.slice(at + 1).find((m) => m.msgtype === 'template_card');
    return { text: sent[at]!, ...(card ? { card } : {}) };
  }

  async lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard> {
    const { text: reply } = this.reply(await this.say(user, text));
    this.replies.add(reply);
    return seen(reply);
  }

  /**
   * A WeCom application reaches one-to-one chats only: it receives no message typed in a group, so there
   * is no team-channel question to answer and nothing to share. The scenario list skips this for WeCom
   * (its `needs: 'teamChannel'`); called anyway, it fails rather than pretend.
   */
  async shareInTeam(): Promise<{ own: SeenCard; shared: SeenCard }> {
    throw new Error('wecom: an application message is one-to-one; there is no team channel to share in');
  }

  async requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const card = this.reply(await this.say(user, customerId)).card;
    const key = card?.card?.button_list.find((b) => b.key.startsWith('access|'))?.key;
    if (!card || !key) throw new Error('no Request access button on the WeCom card');
    return this.answerPrompt(user, card, key, `${groups.join(' ')} ${minutes} ${reason}`, approver);
  }

  async requestReveal(user: DemoEmployeeKey, customerId: string, field: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = this.reply(await this.say(user, customerId));
    this.replies.add(lookup.text);
    const key = lookup.card?.card?.button_list.find((b) => b.key.startsWith('reveal|') && b.text.includes(field))?.key;
    if (!lookup.card || !key) throw new Error(`no Reveal ${field} button on the WeCom card`);
    const request = await this.answerPrompt(user, lookup.card, key, `${minutes} ${reason}`, approver);
    this.revealOrigins.set(request.requestId, { user, title: firstLine(lookup.text), since: this.fake.messages.length });
    return request;
  }

  /** Clicks the request button, answers the prompt with `answer`; the request id and `approver`'s copy. */
  private async answerPrompt(user: DemoEmployeeKey, card: WeComMessage, key: string, answer: string, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const prompt = await this.click(card, key);
    if (!prompt.some((m) => PROMPT.test(m.text ?? ''))) throw new Error(`no prompt: ${JSON.stringify(prompt)}`);
    const n = this.fake.messages.length;
    const done = await this.say(user, answer);
    const requestId = /#(R-[A-P]{10})/.exec(done.map((m) => m.text ?? '').join('\n'))?.[1];
    if (!requestId) throw new Error(`request not submitted: ${JSON.stringify(done)}`);
    return { requestId, approverCard: this.copyOf(approver, requestId, n) };
  }

  async revealCard(requestId: string, updates: number): Promise<SeenCard> {
    const origin = this.revealOrigins.get(requestId);
    if (!origin) throw new Error(`no reveal card of ${requestId}`);
    // The reveal and its re-masking are new messages headed like the card (a text cannot be edited).
    await this.fake.waitFor(() => this.reveals(origin).length >= updates);
    return seen(this.reveals(origin)[updates - 1]!);
  }

  private reveals(origin: { user: DemoEmployeeKey; title: string; since: number }): WeComMessage[] {
    return this.fake.messages.slice(origin.since).filter((m) => m.touser === this.uid(origin.user) && m.msgtype === 'text' && firstLine(m) === origin.title && !this.replies.has(m));
  }

  async expireGrants(minutes: number, user: DemoEmployeeKey, mention: string): Promise<string> {
    const n = this.fake.messages.length;
    this.clock.advance(minutes * 60_000);
    await sweepNow(this.h.config);
    const dm = await this.fake.waitFor((m) => this.fake.messages.indexOf(m) >= n && m.touser === this.uid(user) && !isCardCopy(m) && (m.text ?? '').includes(`#${mention}`));
    return dm.text!;
  }

  async approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }> {
    const card = this.cardOf(approver, requestId);
    const n = this.fake.messages.length;
    const sent = await this.click(card, `approve|${requestId}`);
    const answer = sent.find((m) => m.msgtype === 'text' && !isCopyOf(m, requestId));
    if (!answer) throw new Error(`no answer to the Approve click: ${JSON.stringify(sent)}`);
    return { answer: answer.text!, copies: this.updatedCopies(requestId, n) };
  }

  async deny(approver: DemoEmployeeKey, requestId: string, reason: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const card = this.cardOf(approver, requestId);
    const prompt = await this.click(card, `deny|${requestId}`);
    if (!prompt.some((m) => PROMPT.test(m.text ?? ''))) throw new Error(`no deny prompt: ${JSON.stringify(prompt)}`);
    const n = this.fake.messages.length;
    await this.say(approver, reason);
    const told = this.fake.messages.slice(n).find((m) => m.touser === this.uid(requester) && !isCopyOf(m, requestId) && (m.text ?? '').includes(reason));
    if (!told) throw new Error('the requester was not told');
    return { copies: this.updatedCopies(requestId, n), told: told.text! };
  }

  /** `approver`'s card of request `requestId` (the buttons after its text). */
  private cardOf(approver: DemoEmployeeKey, requestId: string): WeComMessage {
    const card = this.fake.messages.find((m) => m.touser === this.uid(approver) && m.card?.button_list.some((b) => b.key === `approve|${requestId}`));
    if (!card) throw new Error(`${approver} has no card of ${requestId}`);
    return card;
  }

  /** Request `requestId`'s copy as `reader` sees it after `since`: the newest text about it, the card's buttons unless updated. */
  private copyOf(reader: DemoEmployeeKey, requestId: string, since: number): SeenApproval {
    const texts = this.fake.messages.slice(since).filter((m) => m.touser === this.uid(reader) && isCopyOf(m, requestId));
    const text = texts.at(-1);
    if (!text) throw new Error(`${reader} has no copy of ${requestId}`);
    const card = this.fake.messages.find((m) => m.touser === this.uid(reader) && m.card?.button_list.some((b) => b.key.endsWith(`|${requestId}`)));
    return approvalSeen(text, card && !card.update ? card : undefined);
  }

  /** Every copy updated since `since`: each reader's newest text about the request. */
  private updatedCopies(requestId: string, since: number): SeenApproval[] {
    const readers = new Set(this.fake.messages.slice(since).filter((m) => isCopyOf(m, requestId)).map((m) => m.touser));
    const byUser = new Map(Object.keys(this.h.employees).map((k) => [this.uid(k as DemoEmployeeKey), k as DemoEmployeeKey]));
    return [...readers].map((u) => this.copyOf(byUser.get(u)!, requestId, since));
  }

  async exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string> {
    const prompt = await this.say(user, command);
    if (!prompt.some((m) => PROMPT.test(m.text ?? ''))) throw new Error(`no export prompt: ${JSON.stringify(prompt)}`);
    const n = this.fake.messages.length;
    const done = await this.say(user, `${minutes} ${reason}`);
    const requestId = /#(R-[A-P]{10})/.exec(done.map((m) => m.text ?? '').join('\n'))?.[1];
    if (!requestId) throw new Error(`export not requested: ${JSON.stringify(done)}`);
    await this.click(this.cardOf(approver, requestId), `approve|${requestId}`);
    const file = await this.fake.waitFor((m) => this.fake.messages.indexOf(m) >= n && m.msgtype === 'file' && m.touser === this.uid(user), 60_000);
    return file.file!.bytes.toString('utf8');
  }

  async expireRequest(minutes: number, requestId: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const n = this.fake.messages.length;
    this.clock.advance(minutes * 60_000);
    await sweepNow(this.h.config);
    const told = await this.fake.waitFor((m) => this.fake.messages.indexOf(m) >= n && m.touser === this.uid(requester) && !isCardCopy(m) && (m.text ?? '').includes(`#${requestId}`));
    return { copies: this.updatedCopies(requestId, n), told: told.text! };
  }

  async auditQuery(user: DemoEmployeeKey, query: string): Promise<SeenTable> {
    const reply = this.reply(await this.say(user, `audit ${query}`));
    if (reply.card) this.tables.set(user, reply.card);
    return tableSeen(reply.text, reply.card);
  }

  async auditPage(user: DemoEmployeeKey, which: 'older' | 'newer'): Promise<SeenTable> {
    const card = this.tables.get(user);
    const key = card?.card?.button_list.find((b) => tableButton(b) === which)?.key;
    if (!card || !key) throw new Error(`no ${which} button on ${user}'s last table`);
    const reply = this.reply(await this.click(card, key));
    if (reply.card) this.tables.set(user, reply.card);
    return tableSeen(reply.text, reply.card);
  }

  async alertCard(subject: DemoEmployeeKey): Promise<SeenAlert> {
    const id = this.h.employees[subject].employeeId;
    // One copy per security member, sent one after the other: the alert is read once all have theirs.
    await this.fake.waitFor(() => SECURITY_USERS.every((k) => this.alertCopy(k, id)), 120_000);
    const copies = new Map(SECURITY_USERS.map((k) => [k, this.alertCopy(k, id)!]));
    for (const c of copies.values()) this.alertsSeen.add(c.card);
    this.alerts.set(subject, copies);
    return alertSeen(copies.get('admin')!);
  }

  /** `reader`'s copy of an alert about `employeeId` not returned yet: the card with its Unfreeze, the text before it. */
  private alertCopy(reader: DemoEmployeeKey, employeeId: string): TextAndCard | undefined {
    const card = this.fake.messages.find((m) => m.touser === this.uid(reader) && !this.alertsSeen.has(m) && hasKey(m, `security_unfreeze|${employeeId}`));
    const text = card && this.textBefore(card, (t) => firstLine(t).includes(`(${employeeId})`));
    return card && text && { text, card };
  }

  /**
   * A click on the clicker's own copy. Taken: the clicked card's one update replaces its buttons and the
   * outcome follows it as the clicker's reply, so the card reads as its text, then that line; refused:
   * the reply alone, the card untouched.
   */
  async alertDecision(clicker: DemoEmployeeKey, subject: DemoEmployeeKey, decision: 'unfreeze' | 'keep' | 'revoke'): Promise<{ answer: string; card: SeenAlert | null }> {
    const copy = this.alerts.get(subject)?.get(clicker);
    if (!copy) throw new Error(`${clicker} has no alert card about ${subject}`);
    const answer = lastText(await this.click(copy.card, `security_${decision}|${this.h.employees[subject].employeeId}`));
    if (!copy.card.update) return { answer, card: null };
    const seenBefore = alertSeen(copy);
    return { answer, card: { title: seenBefore.title, lines: [...seenBefore.lines, answer], buttons: [] } };
  }

  async runReviewCycle(): Promise<void> {
    this.reviewJobs ??= await new ReviewJobs(this.h.prefix).ready();
    this.reviewCycleAt = this.fake.messages.length;
    await this.reviewJobs.run('cycle');
  }

  /** The card whose buttons carry the review of `grantId` (its id is `cycle.grant`), and the text before it naming the grant. */
  async reviewCard(reviewer: DemoEmployeeKey, grantId: string): Promise<{ reviewId: string; card: SeenApproval }> {
    const since = this.reviewCycleAt;
    const card = await this.fake.waitFor((m) => this.fake.messages.indexOf(m) >= since && m.touser === this.uid(reviewer)
      && (m.card?.button_list.some((b) => b.key.startsWith('review_keep|') && b.key.endsWith(`.${grantId}`)) ?? false));
    const text = this.textBefore(card, (t) => approvalSeen(t, undefined).fields.get(GRANT_LINE) === grantId);
    if (!text) throw new Error(`no text of ${reviewer}'s review card of ${grantId}`);
    const reviewId = card.card!.button_list.find((b) => b.key.startsWith('review_keep|'))!.key.slice('review_keep|'.length);
    this.reviews.set(`${reviewId}:${reviewer}`, { text, card });
    return { reviewId, card: approvalSeen(text, card) };
  }

  /**
   * A click on the reviewer's card. Decided: the card's one update replaces its buttons, and the state
   * that follows is the newest message about it: a settled copy when the notifier could not update the
   * card, else the click's answer (who decided, when) as its status line. Refused: null, the card as it was.
   */
  async reviewDecision(reviewer: DemoEmployeeKey, reviewId: string, decision: 'keep' | 'revoke'): Promise<{ answer: string; card: SeenApproval | null }> {
    const copy = this.reviews.get(`${reviewId}:${reviewer}`);
    if (!copy) throw new Error(`no review card ${reviewId} of ${reviewer}`);
    const grantId = approvalSeen(copy.text, undefined).fields.get(GRANT_LINE);
    const sent = (await this.click(copy.card, `review_${decision}|${reviewId}`)).filter((m) => m.msgtype === 'text');
    const settled = sent.filter((m) => approvalSeen(m, undefined).fields.get(GRANT_LINE) === grantId).at(-1);
    const answer = lastText(sent.filter((m) => m !== settled));
    if (!copy.card.update && !settled) return { answer, card: null };
    const card = approvalSeen(settled ?? copy.text, undefined);
    return { answer, card: settled ? card : { ...card, status: answer } };
  }

  /** The last text sent to `card`'s reader before it that matches: the text a card's buttons belong to. */
  private textBefore(card: WeComMessage, pred: (m: WeComMessage) => boolean): WeComMessage | undefined {
    return this.fake.messages.slice(0, this.fake.messages.indexOf(card)).filter((m) => m.touser === card.touser && m.msgtype === 'text' && pred(m)).at(-1);
  }

  async trailSince(atLeast: number): Promise<TrailEntry[]> {
    const all = await this.h.auditRecords({}, this.seen + atLeast);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh.map(trailEntry);
  }
}

function firstLine(m: WeComMessage): string {
  return (m.text ?? '').split('\n')[0]!;
}

/** A text that is a copy of a request card: its title names the request, a rule sets off its status. */
function isCardCopy(m: WeComMessage): boolean {
  return m.msgtype === 'text' && /#R-[A-P]{10}/.test(firstLine(m)) && (m.text ?? '').split('\n').includes('——');
}

function isCopyOf(m: WeComMessage, requestId: string): boolean {
  return isCardCopy(m) && firstLine(m).includes(`#${requestId}`);
}

/** `label: value` lines, split at the first ": " (a revealed field's label holds a time, so a colon). */
function fieldLines(lines: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of lines) {
    const m = /^([^【]+?): (.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

/**
 * A card reply (title, blocks, `——`, footer), a help (a title line, then its lines) or a notice (one
 * line, its text). Share is never offered on WeCom.
 */
function seen(m: WeComMessage): SeenCard {
  const text = m.text ?? '';
  const lines = text.split('\n');
  const rule = lines.indexOf('——');
  const isCard = rule > 0 && lines.slice(1, rule).some((l) => l.startsWith('【'));
  if (isCard) return { title: lines[0]!, fields: fieldLines(lines.slice(1, rule)), text, shareable: false };
  return { title: lines.length > 1 ? lines[0]! : '', fields: lines.length > 1 ? fieldLines(lines.slice(1)) : new Map(), text, shareable: false };
}

/** A copy's text (title, `label: value` lines, `——`, status) and its card's buttons by wire id. */
function approvalSeen(text: WeComMessage, card: WeComMessage | undefined): SeenApproval {
  const lines = (text.text ?? '').split('\n');
  const rule = lines.lastIndexOf('——');
  return {
    title: lines[0]!, fields: fieldLines(lines.slice(1, rule)), status: lines.slice(rule + 1).join('\n'),
    buttons: (card?.card?.button_list ?? []).map((b) => b.key.split('|')[0]!.replace(/^review_/, '')),
  };
}

const PAGE_LABEL = { older: /更早|Older/, newer: /更新|Newer/ };

/** A table's button by neutral name: both page buttons carry `audit_page|token`, told apart by their label. */
function tableButton(b: { text: string; key: string }): string {
  const wire = b.key.split('|')[0]!;
  if (wire !== 'audit_page') return wire.replace(/^audit_/, '');
  return PAGE_LABEL.older.test(b.text) ? 'older' : 'newer';
}

/** An audit table's text (title, column header, rows, `——`, footer) and its card's paging buttons; a notice otherwise. */
function tableSeen(m: WeComMessage, card: WeComMessage | undefined): SeenTable {
  const text = m.text ?? '';
  const lines = text.split('\n');
  const rule = lines.lastIndexOf('——');
  if (rule < 2) return { title: '', header: '', rows: [], footer: '', buttons: [], text };
  const buttons = (card?.card?.button_list ?? []).map(tableButton);
  return { title: lines[0]!, header: lines[1]!, rows: lines.slice(2, rule), footer: lines.slice(rule + 1).join('\n'), buttons, text };
}

function hasKey(m: WeComMessage, key: string): boolean {
  return m.card?.button_list.some((b) => b.key === key) ?? false;
}

function lastText(sent: WeComMessage[]): string {
  const text = sent.filter((m) => m.msgtype === 'text').at(-1);
  if (!text) throw new Error(`no reply: ${JSON.stringify(sent)}`);
  return text.text!;
}

/** An alert as its text reads (title, then its lines) and its card's buttons by neutral decision (`security_keep|…` → keep). */
function alertSeen(copy: TextAndCard): SeenAlert {
  const [title = '', ...lines] = (copy.text.text ?? '').split('\n');
  return { title, lines, buttons: copy.card.update ? [] : copy.card.card!.button_list.map((b) => b.key.split('|')[0]!.replace(/^security_/, '')) };
}
