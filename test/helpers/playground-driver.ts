// The playground driver of the shared scenarios (test/scenarios): the requests its browser page makes
// (POST /playground/api/message, /action and /inbox, GET /playground/download) against the real
// playground on the same seeded company as the Slack and Lark drivers. What the page shows is HTML
// rendered by bot/playground/html.ts; it is read back into the neutral SeenCard / SeenApproval (code
// spans as the chat platforms' backticks) so that outcomes compare equal with Slack's.
import { demoEmployee, demoEmployeeList, type DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { CUSTOMERS, SEED, TEAM, trailEntry, type PlatformDriver, type SeenAlert, type SeenApproval, type SeenCard, type SeenTable, type TrailEntry } from '../scenarios/driver.ts';
import { auditModels } from '../../bot/store/audit-model.ts';
import type { StoredAuditRecord } from '../../bot/core/audit-event.ts';
import { PlaygroundHarness, type ApiAnswer } from './playground.ts';
import { ReviewJobs } from './access-review.ts';
import { movableClock } from './slack-approval.ts';

/** One inbox item as the page received it (every version of a ref, in the order they arrived). */
export interface SeenItem { employeeId: string; ref: string; kind: string; html: string; seq: number; requestId?: string; state?: string }

/** The playground harness with a clock the reveal scenario moves past a grant's end. */
class MovableHarness extends PlaygroundHarness {
  readonly moving = movableClock();
  override readonly clock = { now: () => this.moving.now() };
}

const POLL_MS = 150;
const WAIT_MS = 90_000;

export class PlaygroundDriver implements PlatformDriver {
  readonly platform = 'playground' as const;
  readonly h: MovableHarness;
  private seen = 0;
  /** Per employee: the last inbox seq the "page" has seen, and everything it saw. */
  private readonly cursors = new Map<string, number>();
  readonly inbox: SeenItem[] = [];
  /** Request id → the requester (their inbox holds the revealed card). */
  private readonly revealers = new Map<string, string>();

  constructor(file: string) {
    // The playground's own approval sweep (a playground runs no chat workers) every second, not every
    // 15 s: a scenario that moves the clock waits for the next sweep, as Slack's waits for its queue's.
    this.h = new MovableHarness(file, { customers: CUSTOMERS, seed: SEED, sweepMs: 1000 });
  }

  async start(): Promise<void> { await this.h.start(); }
  async close(): Promise<void> { await this.h.close(); }

  private id(key: DemoEmployeeKey): string { return demoEmployee(key).employeeId; }

  /** A message typed by `user`; the page sends its inbox cursor, and the answer carries what came since. */
  private async say(user: string, text: string, where: { channel?: string; members?: string[] } = {}): Promise<ApiAnswer> {
    const res = await this.h.say(user, text, { after: this.cursors.get(user) ?? 0, ...where });
    return this.took(user, res);
  }

  private async click(user: string, action: string, value: string, form: Record<string, unknown> = {}, where: { channel?: string; members?: string[] } = {}): Promise<ApiAnswer> {
    const res = await this.h.click(user, action, value, { after: this.cursors.get(user) ?? 0, form, ...where });
    return this.took(user, res);
  }

  private took(user: string, res: ApiAnswer): ApiAnswer {
    if (res.status !== 200) throw new Error(`playground answered ${res.status}: ${JSON.stringify(res.body)}`);
    this.note(user, res.body as { inbox?: SeenItem[]; cursor?: number });
    return res;
  }

  private note(user: string, answer: { inbox?: SeenItem[]; cursor?: number }): void {
    for (const i of answer.inbox ?? []) this.inbox.push({ ...i, employeeId: user });
    if (typeof answer.cursor === 'number') this.cursors.set(user, Math.max(this.cursors.get(user) ?? 0, answer.cursor));
  }

  /** What the page's inbox poll fetches for `user`. */
  private async poll(user: string): Promise<void> {
    const res = await fetch(this.h.url('/playground/api/inbox'), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId: user, after: this.cursors.get(user) ?? 0 }),
    });
    if (!res.ok) throw new Error(`inbox answered ${res.status}`);
    this.note(user, await res.json() as { inbox?: SeenItem[]; cursor?: number });
  }

  /** The first inbox item of `users` (after `from` items seen) that `match`es, polling as the page does. */
  private async waitFor(users: string[], match: (i: SeenItem) => boolean, from = 0): Promise<SeenItem> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.inbox.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('nothing matching arrived in the playground inbox');
      for (const u of users) await this.poll(u);
      if (!this.inbox.slice(from).some(match)) await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard> {
    return seenReply(await this.say(this.id(user), text));
  }

  async shareInTeam(user: DemoEmployeeKey, text: string): Promise<{ own: SeenCard; shared: SeenCard }> {
    const where = { channel: 'public', members: TEAM.map((k) => this.id(k)) };
    const mine = await this.say(this.id(user), text, where);
    const share = buttonsOf(mine.replies[0]?.html ?? '').find((b) => b.action === 'customer_share');
    if (!share) throw new Error('no share button on the playground card');
    const click = await this.click(this.id(user), share.action, share.value, {}, where);
    const posted = click.replies.find((r) => r.to === 'channel');
    if (!posted) throw new Error('nothing posted in the channel');
    return { own: seenReply(mine), shared: seenHtml(posted.html) };
  }

  async requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.say(this.id(user), customerId);
    const access = buttonsOf(lookup.replies[0]?.html ?? '').find((b) => b.action === 'approval_access');
    if (!access) throw new Error('no Request access button on the playground card');
    return this.submitFrom(user, access, { purpose: reason, duration: String(minutes), groups }, approver);
  }

  async requestReveal(user: DemoEmployeeKey, customerId: string, field: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.say(this.id(user), customerId);
    const reveal = buttonsOf(lookup.replies[0]?.html ?? '').find((b) => b.action === 'approval_reveal' && b.label.includes(field));
    if (!reveal) throw new Error(`no Reveal ${field} button on the playground card`);
    const request = await this.submitFrom(user, reveal, { purpose: reason, duration: String(minutes) }, approver);
    this.revealers.set(request.requestId, this.id(user));
    return request;
  }

  async revealCard(requestId: string, updates: number): Promise<SeenCard> {
    const user = this.revealers.get(requestId);
    if (!user) throw new Error(`no reveal card of ${requestId}`);
    const isReveal = (i: SeenItem) => i.employeeId === user && i.ref === `reveal-${requestId}`;
    await this.waitFor([user], () => this.inbox.filter(isReveal).length >= updates);
    return seenHtml(this.inbox.filter(isReveal)[updates - 1]!.html);
  }

  async expireGrants(minutes: number, user: DemoEmployeeKey, mention: string): Promise<string> {
    const from = this.inbox.length;
    this.h.moving.advance(minutes * 60_000);
    const dm = await this.waitFor([this.id(user)], (i) => i.employeeId === this.id(user) && i.kind === 'notice' && textOf(i.html).includes(`#${mention}`), from);
    return textOf(dm.html);
  }

  async expireRequest(minutes: number, requestId: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const copies = await this.copiesOf(requestId);
    const from = this.inbox.length;
    this.h.moving.advance(minutes * 60_000);
    const told = await this.waitFor([this.id(requester)], (i) => i.employeeId === this.id(requester) && i.kind === 'notice' && textOf(i.html).includes(`#${requestId}`), from);
    const updated = await this.updatedCopies(copies);
    // Copies posted after the clock moved (an escalation in the same sweep) count too, as they show now.
    const later = (await this.copiesOf(requestId)).filter((c) => !copies.some((b) => b.employeeId === c.employeeId && b.ref === c.ref));
    return { copies: [...updated, ...later.map((c) => seenApproval(c.html))], told: textOf(told.html) };
  }

  /** The last table each user was shown (its paging buttons are clicked next). */
  private readonly tables = new Map<string, string>();

  async auditQuery(user: DemoEmployeeKey, query: string): Promise<SeenTable> {
    return this.table(user, await this.say(this.id(user), `audit ${query}`));
  }

  async auditPage(user: DemoEmployeeKey, which: 'older' | 'newer'): Promise<SeenTable> {
    const button = buttonsOf(this.tables.get(user) ?? '').find((b) => b.action === 'audit_page' && b.name === which);
    if (!button) throw new Error(`no ${which} button on ${user}'s last table`);
    return this.table(user, await this.click(this.id(user), button.action, button.value));
  }

  private table(user: DemoEmployeeKey, answer: ApiAnswer): SeenTable {
    const html = answer.replies[0]?.html ?? '';
    if (answer.replies[0]?.kind === 'audit-table') this.tables.set(user, html);
    return seenTable(html);
  }

  /** Alert cards already returned, and the last one per subject (its buttons are clicked next). */
  private readonly alertsSeen = new Set<string>();
  private readonly lastAlert = new Map<string, SeenItem>();

  /** The security channel: the playground posts alert cards to everyone the policy lets act on them; `admin` reads them. */
  async alertCard(subject: DemoEmployeeKey): Promise<SeenAlert> {
    const reader = this.id('admin');
    const about = `(${this.id(subject)})`;
    const card = await this.waitFor([reader], (i) => i.employeeId === reader && i.kind === 'security-alert' && i.state === 'open' && !this.alertsSeen.has(i.ref) && seenAlert(i.html).title.includes(about));
    this.alertsSeen.add(card.ref);
    this.lastAlert.set(subject, card);
    return seenAlert(card.html);
  }

  async alertDecision(clicker: DemoEmployeeKey, subject: DemoEmployeeKey, decision: 'unfreeze' | 'keep' | 'revoke'): Promise<{ answer: string; card: SeenAlert | null }> {
    const card = this.lastAlert.get(subject);
    const button = buttonsOf(card?.html ?? '').find((b) => b.action === `security_${decision}`);
    if (!card || !button) throw new Error(`no ${decision} button on the alert card about ${subject}`);
    const res = await this.click(this.id(clicker), button.action, button.value);
    // The card is changed (or not) before the click is answered: one look at the channel says which.
    await this.poll(card.employeeId);
    const updated = this.inbox.find((i) => i.employeeId === card.employeeId && i.ref === card.ref && i.seq > card.seq);
    return { answer: res.replies.map((r) => textOf(r.html)).join('\n'), card: updated ? seenAlert(updated.html) : null };
  }

  /** Review cards returned by `reviewCard` (by review id and reviewer), and the inbox length when the last cycle ran. */
  private readonly reviewCards = new Map<string, SeenItem>();
  private cycleFrom = 0;

  async runReviewCycle(): Promise<void> {
    this.cycleFrom = this.inbox.length;
    const jobs = await new ReviewJobs(this.h.prefix).ready();
    try {
      await jobs.run('cycle');
    } finally {
      await jobs.close();
    }
  }

  async reviewCard(reviewer: DemoEmployeeKey, grantId: string): Promise<{ reviewId: string; card: SeenApproval }> {
    const who = this.id(reviewer);
    const item = await this.waitFor([who], (i) => i.employeeId === who && i.kind === 'review' && i.html.includes(`>${grantId}<`), this.cycleFrom);
    const reviewId = item.requestId ?? '';
    this.reviewCards.set(`${reviewId}:${who}`, item);
    return { reviewId, card: seenApproval(item.html) };
  }

  async reviewDecision(reviewer: DemoEmployeeKey, reviewId: string, decision: 'keep' | 'revoke'): Promise<{ answer: string; card: SeenApproval | null }> {
    const who = this.id(reviewer);
    const card = this.reviewCards.get(`${reviewId}:${who}`);
    const res = await this.click(who, `review_${decision}`, reviewId);
    // The service updates the card before the click is answered (or leaves it): one look says which.
    await this.poll(who);
    const updated = card ? this.inbox.find((i) => i.employeeId === who && i.ref === card.ref && i.seq > card.seq) : undefined;
    return { answer: res.replies.map((r) => textOf(r.html)).join('\n'), card: updated ? seenApproval(updated.html) : null };
  }

  /** Clicks `button` on a card, submits the inline form that opens with `form`; the request id and `approver`'s card. */
  private async submitFrom(user: DemoEmployeeKey, button: Button, form: Record<string, unknown>, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const opened = await this.click(this.id(user), button.action, button.value);
    const formHtml = opened.replies.find((r) => r.kind === 'request_form')?.html;
    if (!formHtml) throw new Error(`no request form: ${opened.replies.map((r) => textOf(r.html)).join(' / ')}`);
    return this.submitForm(user, formHtml, form, approver);
  }

  private async submitForm(user: DemoEmployeeKey, formHtml: string, form: Record<string, unknown>, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const from = this.inbox.length;
    const res = await this.click(this.id(user), 'approval_submit', attr(formHtml, 'form', 'data-value'), form);
    const requestId = /\b(R-[A-P]{10})\b/.exec(res.replies.map((r) => textOf(r.html)).join(' '))?.[1];
    if (!requestId) throw new Error(`request not submitted: ${res.replies.map((r) => textOf(r.html)).join(' / ')}`);
    const card = await this.waitFor([this.id(approver)], (i) => i.employeeId === this.id(approver) && i.kind === 'approval' && i.requestId === requestId, from);
    return { requestId, approverCard: seenApproval(card.html) };
  }

  async approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }> {
    const copies = await this.copiesOf(requestId);
    const card = copies.find((c) => c.employeeId === this.id(approver));
    if (!card) throw new Error(`${approver} has no card of ${requestId}`);
    const approve = buttonsOf(card.html).find((b) => b.action === 'approval_approve');
    if (!approve) throw new Error(`no Approve button on ${approver}'s card`);
    const res = await this.click(this.id(approver), approve.action, approve.value);
    return { answer: res.replies.map((r) => textOf(r.html)).join('\n'), copies: await this.updatedCopies(copies) };
  }

  async deny(approver: DemoEmployeeKey, requestId: string, reason: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const copies = await this.copiesOf(requestId);
    const card = copies.find((c) => c.employeeId === this.id(approver));
    const deny = buttonsOf(card?.html ?? '').find((b) => b.action === 'approval_deny_open');
    if (!deny) throw new Error(`no Deny button on ${approver}'s card`);
    const from = this.inbox.length;
    const opened = await this.click(this.id(approver), deny.action, deny.value);
    const formHtml = opened.replies.find((r) => r.kind === 'deny_form')?.html;
    if (!formHtml) throw new Error(`no deny form: ${opened.replies.map((r) => textOf(r.html)).join(' / ')}`);
    const res = await this.click(this.id(approver), 'approval_deny', attr(formHtml, 'form', 'data-value'), { reason });
    if (!res.replies.some((r) => textOf(r.html).includes(requestId))) throw new Error(`deny refused: ${res.replies.map((r) => textOf(r.html)).join(' / ')}`);
    const told = await this.waitFor([this.id(requester)], (i) => i.employeeId === this.id(requester) && i.kind === 'notice' && textOf(i.html).includes(reason), from);
    return { copies: await this.updatedCopies(copies), told: textOf(told.html) };
  }

  /** Every copy of request `requestId`'s card as each inbox shows it now (the cards are posted before the submit is answered). */
  private async copiesOf(requestId: string): Promise<SeenItem[]> {
    for (const e of demoEmployeeList()) await this.poll(e.employeeId);
    const latest = new Map<string, SeenItem>();
    for (const i of this.inbox) if (i.kind === 'approval' && i.requestId === requestId) latest.set(`${i.employeeId}:${i.ref}`, i);
    return [...latest.values()];
  }

  /** Every copy once updated after `before` (a newer version of the same ref in the same inbox). */
  private async updatedCopies(before: SeenItem[]): Promise<SeenApproval[]> {
    const out: SeenApproval[] = [];
    for (const b of before) {
      const next = await this.waitFor([b.employeeId], (i) => i.employeeId === b.employeeId && i.ref === b.ref && i.seq > b.seq);
      out.push(seenApproval(next.html));
    }
    return out;
  }

  async exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string> {
    const from = this.inbox.length;
    const typed = await this.say(this.id(user), command);
    const formHtml = typed.replies.find((r) => r.kind === 'request_form')?.html;
    if (!formHtml) throw new Error(`no export form: ${typed.replies.map((r) => textOf(r.html)).join(' / ')}`);
    const { requestId } = await this.submitForm(user, formHtml, { purpose: reason, duration: String(minutes) }, approver);
    await this.approve(approver, requestId);
    const file = await this.waitFor([this.id(user)], (i) => i.employeeId === this.id(user) && i.kind === 'download', from);
    const res = await fetch(this.h.url(attr(file.html, 'a', 'href').replace(/&amp;/g, '&')));
    if (!res.ok) throw new Error(`download answered ${res.status}`);
    return Buffer.from(await res.arrayBuffer()).toString('utf8');
  }

  async trailSince(atLeast: number): Promise<TrailEntry[]> {
    const { events } = await auditModels(this.h.conn);
    const deadline = Date.now() + WAIT_MS;
    let all: StoredAuditRecord[];
    for (;;) {
      all = await events.find({}).sort({ seq: 1 }).lean<StoredAuditRecord[]>();
      if (all.length >= this.seen + atLeast || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh.map((r) => trailEntry(r as unknown as Record<string, unknown>));
  }
}

interface Button { action: string; value: string; label: string; name?: string }

/** Entities as html.ts escapes them. */
function decode(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** The text a user reads, line breaks kept; `<code>` spans back as the backticks the catalogue and Slack use. */
export function textOf(html: string): string {
  return decode(html.replace(/<code>([^<]*)<\/code>/g, '`$1`').replace(/<br>/g, '\n').replace(/<span class="badge"[^>]*>[^<]*<\/span>/g, '').replace(/<[^>]+>/g, '')).trim();
}

function attr(html: string, tag: string, name: string): string {
  const m = new RegExp(`<${tag}\\b[^>]*\\s${name}="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no ${tag} ${name} in ${html.slice(0, 200)}`);
  return decode(m[1]!);
}

function buttonsOf(html: string): Button[] {
  return [...html.matchAll(/<button type="button" class="action" data-action="([^"]*)" data-value="([^"]*)"(?: data-name="([^"]*)")?>([^<]*)<\/button>/g)]
    .map((m) => ({ action: decode(m[1]!), value: decode(m[2]!), label: decode(m[4]!), ...(m[3] ? { name: decode(m[3]) } : {}) }));
}

/** An audit table: title, header line, rows, footer (the empty-result sentence is its only row's place: none), buttons by name; else a notice. */
function seenTable(html: string): SeenTable {
  const section = /^<section class="audit"[\s\S]*<\/section>$/.exec(html)?.[0];
  if (!section) return { title: '', header: '', rows: [], footer: '', buttons: [], text: textOf(html) };
  return {
    title: decode(/<h3>([^<]*)<\/h3>/.exec(section)?.[1] ?? ''),
    header: decode(/<p class="meta">([^<]*)<\/p>/.exec(section)?.[1] ?? ''),
    rows: [...section.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => decode(m[1]!)),
    footer: decode(/<footer>([^<]*)<\/footer>/.exec(section)?.[1] ?? ''),
    buttons: buttonsOf(section).map((b) => b.name ?? b.action),
    text: textOf(section.replace(/<\/(h3|p|li|footer)>/g, '\n')),
  };
}

/** `dt` → `dd` pairs, values without the masked badge. */
function definitions(html: string): Map<string, string> {
  return new Map([...html.matchAll(/<dt>([^<]*)<\/dt><dd>(.*?)<\/dd>/g)].map((m) => [decode(m[1]!), textOf(m[2]!)]));
}

function seenReply(answer: ApiAnswer): SeenCard {
  const first = answer.replies[0];
  if (!first) throw new Error('the playground did not answer');
  return seenHtml(first.html);
}

/** A card: its title and lines; a help view: its title and `*label*: value` lines, as Slack's header and sections; else the text. */
function seenHtml(html: string): SeenCard {
  const article = /<article class="card"[\s\S]*<\/article>/.exec(html)?.[0];
  if (article) {
    const title = decode(/<h3>([^<]*)<\/h3>/.exec(article)?.[1] ?? '');
    return { title, fields: definitions(article), text: textOf(article), shareable: buttonsOf(article).some((b) => b.action === 'customer_share') };
  }
  const help = /^<section class="help"[^>]*><h3>([^<]*)<\/h3>([\s\S]*)<\/section>$/.exec(html);
  if (help) {
    const lines = [...help[2]!.matchAll(/<p>(.*?)<\/p>/g)].map((m) => textOf(m[1]!));
    const fields = new Map(lines.map((l) => /^\*([^*]+)\*: (.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1]!, m[2]!]));
    return { title: decode(help[1]!), fields, text: [decode(help[1]!), ...lines].join('\n'), shareable: false };
  }
  return { title: '', fields: new Map(), text: textOf(html), shareable: false };
}

/** Title, `label → value` lines, status line and the buttons by neutral action (Deny opens its form: `deny`). */
function seenApproval(html: string): SeenApproval {
  return {
    title: decode(/<h3>([^<]*)<\/h3>/.exec(html)?.[1] ?? ''),
    fields: definitions(html),
    status: textOf(/<p class="status"[^>]*>(.*?)<\/p>/.exec(html)?.[1] ?? ''),
    buttons: buttonsOf(html).map((b) => b.action.replace(/^(approval|review)_/, '').replace(/_open$/, '')),
  };
}

/** An alert card: its title, its lines in order, the buttons by neutral decision. */
function seenAlert(html: string): SeenAlert {
  return {
    title: decode(/<h3>([^<]*)<\/h3>/.exec(html)?.[1] ?? ''),
    lines: [...html.matchAll(/<li>(.*?)<\/li>/g)].map((m) => textOf(m[1]!)),
    buttons: buttonsOf(html).map((b) => b.action.replace(/^security_/, '')),
  };
}
