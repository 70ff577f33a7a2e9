// The Slack driver of the shared scenarios (test/scenarios): signed requests to the real Bolt endpoint;
// messages read from the fake Slack Web API. Block Kit mrkdwn escapes are undone so cards compare
// with other platforms' plain text.
import { demoEmployee, type DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { ACTION_SHARE } from '../../bot/slack/blocks.ts';
import { ACTION_AUDIT_EXPORT, ACTION_AUDIT_NEWER, ACTION_AUDIT_OLDER } from '../../bot/slack/audit-blocks.ts';
import { ACTION_REVIEW } from '../../bot/slack/review-blocks.ts';
import { ACTION_SECURITY } from '../../bot/slack/security-handlers.ts';
import { CUSTOMERS, TEAM, trailEntry, type PlatformDriver, type SeenAlert, type SeenApproval, type SeenCard, type SeenTable, type TrailEntry } from '../scenarios/driver.ts';
import type { RecordedCall } from '../fakes/slack-api.ts';
import { buttons, denyValues, modalAfter, movableClock, openedView, requestValues, submitView } from './slack-approval.ts';
import { cardFields, messageText, PUBLIC_CHANNEL, SIGNING_SECRET, slackIdOf, SlackHarness } from './slack-bot.ts';
import { sweepNow } from './sweep.ts';
import { ReviewJobs } from './access-review.ts';
import { blockActionBody, FORM, post, sign, slashCommandBody } from './slack-sign.ts';

const SECURITY_CHANNEL = 'C0SECURITY';
/** The review card's line naming the grant (zh-CN, the harness's locale; reviewers here read Chinese). */
const GRANT_LINE = '授权';

export class SlackDriver implements PlatformDriver {
  readonly platform = 'slack' as const;
  readonly h: SlackHarness;
  private seen = 0;
  /** The bot's and the workers' clock: the reveal scenario moves it past a grant's end. */
  private readonly clock = movableClock();
  /** Request id → path of the response_url of the card its Reveal was clicked on (the bot replaces that card). */
  private readonly revealOrigins = new Map<string, string>();
  /** Each user's last audit table (its paging buttons carry the page tokens). */
  private readonly tables = new Map<DemoEmployeeKey, Record<string, unknown>>();
  /** Alert cards already returned, and the last one about each subject (its buttons). */
  private readonly alertsSeen = new Set<RecordedCall>();
  private readonly alerts = new Map<DemoEmployeeKey, RecordedCall>();
  /** Review cards returned, by `reviewId:reviewer`. */
  private readonly reviews = new Map<string, RecordedCall>();
  private reviewJobs: ReviewJobs | undefined;
  private reviewCycleAt = 0;

  constructor(file: string) {
    // Decisions read grants: the approval scenarios look customers up under them.
    this.h = new SlackHarness(file, {
      customers: CUSTOMERS, publicMembers: TEAM, grants: true, clock: this.clock,
      extraEnv: { CUSTOS_SECURITY_CHANNEL: SECURITY_CHANNEL },
      extraChannels: [{ id: SECURITY_CHANNEL, isPrivate: true, members: ['UBOT', slackIdOf(demoEmployee('admin'))] }],
    });
  }

  async start(): Promise<void> { await this.h.start(); }
  async close(): Promise<void> {
    await this.reviewJobs?.close();
    await this.h.close();
  }

  async lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard> {
    const reply = await this.h.ask(this.h.userId(user), this.h.dmOf(user), text);
    return seen(reply.body);
  }

  async shareInTeam(user: DemoEmployeeKey, text: string): Promise<{ own: SeenCard; shared: SeenCard }> {
    const mine = await this.h.ask(this.h.userId(user), PUBLIC_CHANNEL, text);
    const actions = (mine.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions');
    const button = actions?.elements?.find((e) => e.action_id === ACTION_SHARE);
    if (!button) throw new Error('no share button on the Slack card');
    const before = this.h.fake.callsTo('chat.postMessage').length;
    const { responseUrl } = await this.h.click(this.h.userId(user), PUBLIC_CHANNEL, button.action_id, button.value);
    await this.h.replyTo(responseUrl);
    const posted = this.h.fake.callsTo('chat.postMessage').slice(before).find((c) => c.body.channel === PUBLIC_CHANNEL);
    if (!posted) throw new Error('nothing posted in the channel');
    return { own: seen(mine.body), shared: seen(posted.body) };
  }

  async requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.h.ask(this.h.userId(user), this.h.dmOf(user), customerId);
    const access = buttons(lookup.body).find((b) => b.actionId.startsWith('approval_access'));
    if (!access) throw new Error('no Request access button on the Slack card');
    const since = this.h.fake.calls.length;
    await this.h.click(this.h.userId(user), this.h.dmOf(user), access.actionId, access.value);
    const modal = openedView(await modalAfter(this.h, since));
    const res = await submitView(this.h, this.h.userId(user), modal.callback_id, modal.private_metadata, requestValues(reason, minutes, groups));
    if (res.body) throw new Error(`request refused: ${res.body}`);
    return this.approverCard(since, approver);
  }

  async requestReveal(user: DemoEmployeeKey, customerId: string, field: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.h.ask(this.h.userId(user), this.h.dmOf(user), customerId);
    const reveal = buttons(lookup.body).find((b) => b.actionId.startsWith('approval_reveal') && b.text.includes(field));
    if (!reveal) throw new Error(`no Reveal ${field} button on the Slack card`);
    const since = this.h.fake.calls.length;
    const click = await this.h.click(this.h.userId(user), this.h.dmOf(user), reveal.actionId, reveal.value);
    const modal = openedView(await modalAfter(this.h, since));
    const res = await submitView(this.h, this.h.userId(user), modal.callback_id, modal.private_metadata, requestValues(reason, minutes));
    if (res.body) throw new Error(`reveal refused: ${res.body}`);
    const request = await this.approverCard(since, approver);
    this.revealOrigins.set(request.requestId, new URL(click.responseUrl).pathname);
    return request;
  }

  async revealCard(requestId: string, updates: number): Promise<SeenCard> {
    const path = this.revealOrigins.get(requestId);
    if (!path) throw new Error(`no reveal card of ${requestId}`);
    const replacements = () => this.h.fake.calls.filter((c) => c.method === 'response_url' && c.path === path && c.body.replace_original === true);
    await this.h.fake.waitFor(() => replacements().length >= updates);
    return seen(replacements()[updates - 1]!.body);
  }

  async expireGrants(minutes: number, user: DemoEmployeeKey, mention: string): Promise<string> {
    const since = this.h.fake.calls.length;
    this.clock.advance(minutes * 60_000);
    await sweepNow(this.h.config);
    // A DM, not a copy of the request's card (an escalation posts the card, then says why).
    const dm = await this.h.fake.waitFor((c) => this.h.fake.calls.indexOf(c) >= since && c.method === 'chat.postMessage' && c.body.channel === this.h.dmOf(user)
      && messageText(c.body).includes(`#${mention}`) && !approvalSeen(c.body).title.includes(`#${mention}`));
    return unescape(messageText(dm.body));
  }

  /** The request card `approver` is sent after `since` calls: the request id and what it shows. */
  private async approverCard(since: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const card: RecordedCall = await this.h.fake.waitFor((c) => this.h.fake.calls.indexOf(c) >= since && c.method === 'chat.postMessage' && c.body.channel === this.h.dmOf(approver) && /#R-[A-P]{10}/.test(String(c.body.text)));
    return { requestId: /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!, approverCard: approvalSeen(card.body) };
  }

  async approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }> {
    const since = this.h.fake.calls.length;
    const click = await this.h.click(this.h.userId(approver), this.h.dmOf(approver), 'approval_approve', requestId);
    const answer = await this.h.replyTo(click.responseUrl);
    return { answer: unescape(String(answer.body.text)), copies: await this.updatedCopies(requestId, since) };
  }

  async deny(approver: DemoEmployeeKey, requestId: string, reason: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const since = this.h.fake.calls.length;
    await this.h.click(this.h.userId(approver), this.h.dmOf(approver), 'approval_deny', requestId);
    const modal = openedView(await modalAfter(this.h, since));
    const res = await submitView(this.h, this.h.userId(approver), modal.callback_id, modal.private_metadata, denyValues(reason));
    if (res.body) throw new Error(`deny refused: ${res.body}`);
    const told = await this.h.fake.waitFor((c) => this.h.fake.calls.indexOf(c) >= since && c.method === 'chat.postMessage' && c.body.channel === this.h.dmOf(requester) && messageText(c.body).includes(reason));
    return { copies: await this.updatedCopies(requestId, since), told: unescape(messageText(told.body)) };
  }

  /** Every copy of request `requestId`'s card, once each has been updated after `since` calls. */
  private async updatedCopies(requestId: string, since: number): Promise<SeenApproval[]> {
    // Copies of the request card: messages whose header names the request (not the DMs that mention it).
    const isCard = (c: { body: Record<string, unknown> }) => approvalSeen(c.body).title.includes(`#${requestId}`);
    const copies = this.h.fake.calls.filter((c) => c.method === 'chat.postMessage' && isCard(c)).length;
    const isUpdate = (c: { method: string; body: Record<string, unknown> }) => c.method === 'chat.update' && isCard(c);
    await this.h.fake.waitFor((c) => this.h.fake.calls.slice(since).filter(isUpdate).length >= copies && isUpdate(c));
    return this.h.fake.calls.slice(since).filter(isUpdate).map((c) => approvalSeen(c.body));
  }

  async exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string> {
    const since = this.h.fake.calls.length;
    await this.h.command(this.h.userId(user), this.h.dmOf(user), command);
    const modal = openedView(await modalAfter(this.h, since));
    const res = await submitView(this.h, this.h.userId(user), modal.callback_id, modal.private_metadata, requestValues(reason, minutes));
    if (res.body) throw new Error(`export refused: ${res.body}`);
    const { requestId } = await this.approverCard(since, approver);
    await this.h.click(this.h.userId(approver), this.h.dmOf(approver), 'approval_approve', requestId);
    await this.h.fake.waitFor((c) => this.h.fake.calls.indexOf(c) >= since && c.method === 'files.completeUploadExternal' && c.ok, 60_000);
    const file = [...this.h.fake.files.values()].filter((f) => f.completed).pop();
    if (!file) throw new Error('no file delivered');
    return file.bytes.toString('utf8');
  }

  async expireRequest(minutes: number, requestId: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }> {
    const since = this.h.fake.calls.length;
    const told = await this.expireGrants(minutes, requester, requestId);
    return { copies: await this.updatedCopies(requestId, since), told };
  }

  async auditQuery(user: DemoEmployeeKey, query: string): Promise<SeenTable> {
    const responseUrl = this.h.fake.responseUrl();
    const raw = slashCommandBody({ command: '/audit', text: query, userId: this.h.userId(user), channelId: this.h.dmOf(user), responseUrl });
    const res = await post(this.h.eventsUrl, sign(SIGNING_SECRET, raw, FORM));
    if (res.status !== 200) throw new Error(`/audit answered ${res.status}`);
    return this.tableReply(user, responseUrl);
  }

  async auditPage(user: DemoEmployeeKey, which: 'older' | 'newer'): Promise<SeenTable> {
    const table = this.tables.get(user);
    const button = table && buttons(table).find((b) => b.actionId === (which === 'older' ? ACTION_AUDIT_OLDER : ACTION_AUDIT_NEWER));
    if (!button) throw new Error(`no ${which} button on ${user}'s last audit table`);
    const { responseUrl } = await this.h.click(this.h.userId(user), this.h.dmOf(user), button.actionId, button.value);
    return this.tableReply(user, responseUrl);
  }

  /** The table (or notice) posted to `responseUrl`, remembered as `user`'s last for paging. */
  private async tableReply(user: DemoEmployeeKey, responseUrl: string): Promise<SeenTable> {
    // FerretDB answers an audit query by scanning the log: a loaded machine needs time.
    const reply = await this.h.replyTo(responseUrl, 240_000);
    this.tables.set(user, reply.body);
    return tableSeen(reply.body);
  }

  async alertCard(subject: DemoEmployeeKey): Promise<SeenAlert> {
    const id = this.h.employees[subject].employeeId;
    const isNew = (c: RecordedCall) => c.method === 'chat.postMessage' && c.body.channel === SECURITY_CHANNEL && alertSeen(c.body).title.includes(`(${id})`) && !this.alertsSeen.has(c);
    const card = await this.h.fake.waitFor(isNew, 120_000);
    this.alertsSeen.add(card);
    this.alerts.set(subject, card);
    return alertSeen(card.body);
  }

  async alertDecision(clicker: DemoEmployeeKey, subject: DemoEmployeeKey, decision: 'unfreeze' | 'keep' | 'revoke'): Promise<{ answer: string; card: SeenAlert | null }> {
    const alert = this.alerts.get(subject);
    const button = alert && buttons(alert.body).find((b) => b.actionId === ACTION_SECURITY[decision]);
    if (!button) throw new Error(`no ${decision} button on the alert card about ${subject}`);
    const responseUrl = await this.clickOnMessage(clicker, SECURITY_CHANNEL, alert.body, button.actionId, button.value);
    // Taken: the card is replaced in place and says the outcome (Slack sends no second line beside it);
    // refused: an ephemeral reply to the clicker only, the card as it was.
    // The message's text is what the clicker is told (the outcome line; the card adds a header above it).
    const reply = (await this.h.replyTo(responseUrl, 120_000)).body;
    const answer = unescape(String(reply.text ?? messageText(reply)));
    return { answer, card: reply.replace_original === true ? alertSeen(reply) : null };
  }

  /**
   * A click on a button of a posted message, with the `message` Slack sends along in a block_actions
   * payload (its blocks: the bot keeps them above an outcome it adds in place); the response URL.
   */
  private async clickOnMessage(user: DemoEmployeeKey, channel: string, message: Record<string, unknown>, actionId: string, value: string): Promise<string> {
    const responseUrl = this.h.fake.responseUrl();
    const form = new URLSearchParams(blockActionBody({ userId: this.h.userId(user), channelId: channel, actionId, value, responseUrl }));
    const payload = JSON.parse(form.get('payload')!) as Record<string, unknown>;
    const blocks = typeof message.blocks === 'string' ? JSON.parse(message.blocks) as unknown : message.blocks;
    payload.container = { ...(payload.container as object), is_ephemeral: false };
    payload.message = { type: 'message', ts: '1700000000.000100', text: message.text, blocks };
    form.set('payload', JSON.stringify(payload));
    const res = await post(this.h.eventsUrl, sign(SIGNING_SECRET, form.toString(), FORM));
    if (res.status !== 200) throw new Error(`click answered ${res.status}`);
    return responseUrl;
  }

  async runReviewCycle(): Promise<void> {
    this.reviewJobs ??= await new ReviewJobs(this.h.prefix).ready();
    this.reviewCycleAt = this.h.fake.calls.length;
    await this.reviewJobs.run('cycle');
  }

  async reviewCard(reviewer: DemoEmployeeKey, grantId: string): Promise<{ reviewId: string; card: SeenApproval }> {
    const since = this.reviewCycleAt;
    const card = await this.h.fake.waitFor((c) => this.h.fake.calls.indexOf(c) >= since && c.method === 'chat.postMessage' && c.body.channel === this.h.dmOf(reviewer)
      && buttons(c.body).some((b) => b.actionId === ACTION_REVIEW.keep) && cardFields(c.body).get(GRANT_LINE) === grantId);
    const reviewId = buttons(card.body).find((b) => b.actionId === ACTION_REVIEW.revoke)!.value;
    this.reviews.set(`${reviewId}:${reviewer}`, card);
    return { reviewId, card: reviewSeen(card.body) };
  }

  async reviewDecision(reviewer: DemoEmployeeKey, reviewId: string, decision: 'keep' | 'revoke'): Promise<{ answer: string; card: SeenApproval | null }> {
    const card = this.reviews.get(`${reviewId}:${reviewer}`);
    if (!card) throw new Error(`no review card ${reviewId} of ${reviewer}`);
    const since = this.h.fake.calls.length;
    const { responseUrl } = await this.h.click(this.h.userId(reviewer), this.h.dmOf(reviewer), ACTION_REVIEW[decision], reviewId);
    const answer = unescape(messageText((await this.h.replyTo(responseUrl, 120_000)).body));
    // The review service's notifier updates the card itself (chat.update of the posted message, which names the grant).
    const grantId = cardFields(card.body).get(GRANT_LINE);
    const updated = await this.h.fake.waitFor((c) => this.h.fake.calls.indexOf(c) >= since && c.method === 'chat.update' && c.body.channel === card.body.channel && cardFields(c.body).get(GRANT_LINE) === grantId, 120_000);
    return { answer, card: reviewSeen(updated.body) };
  }

  async trailSince(atLeast: number): Promise<TrailEntry[]> {
    const all = await this.h.auditRecords({}, this.seen + atLeast);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh.map(trailEntry);
  }
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function seen(body: Record<string, unknown>): SeenCard {
  const blocks = (body.blocks ?? []) as { type: string; text?: { text?: string }; elements?: { action_id?: string }[] }[];
  const header = blocks.find((b) => b.type === 'header')?.text?.text ?? '';
  const fields = new Map([...cardFields(body)].map(([k, v]) => [unescape(k), unescape(v)]));
  const shareable = blocks.some((b) => b.type === 'actions' && (b.elements ?? []).some((e) => e.action_id === ACTION_SHARE));
  return { title: header, fields, text: unescape(messageText(body)), shareable };
}

/** Header, the section's `*label*: value` lines, the context (status) line, the buttons by neutral action. */
function approvalSeen(body: Record<string, unknown>): SeenApproval {
  const blocks = (body.blocks ?? []) as { type: string; text?: { text?: string }; elements?: { text?: string }[] }[];
  const fields = new Map([...cardFields(body)].map(([k, v]) => [unescape(k), unescape(v)]));
  return {
    title: blocks.find((b) => b.type === 'header')?.text?.text ?? '', fields,
    status: unescape(blocks.find((b) => b.type === 'context')?.elements?.[0]?.text ?? ''),
    buttons: buttons(body).map((b) => b.actionId.replace(/^approval_/, '')),
  };
}

const NEUTRAL_BUTTON: Record<string, string> = {
  [ACTION_AUDIT_OLDER]: 'older', [ACTION_AUDIT_NEWER]: 'newer', [ACTION_AUDIT_EXPORT]: 'export',
  [ACTION_SECURITY.unfreeze]: 'unfreeze', [ACTION_SECURITY.keep]: 'keep', [ACTION_SECURITY.revoke]: 'revoke',
  [ACTION_REVIEW.keep]: 'keep', [ACTION_REVIEW.revoke]: 'revoke',
};
const neutral = (body: Record<string, unknown>) => buttons(body).map((b) => NEUTRAL_BUTTON[b.actionId] ?? b.actionId);

type Block = { type: string; text?: { text?: string }; elements?: { text?: string }[] };
const blocksOf = (body: Record<string, unknown>) => (body.blocks ?? []) as Block[];

/** An audit table: the bold title section, code sections (header line, then rows), the context footer. A notice is one section. */
function tableSeen(body: Record<string, unknown>): SeenTable {
  const blocks = blocksOf(body);
  const text = unescape(messageText(body));
  const footer = blocks.find((b) => b.type === 'context');
  if (blocks[0]?.type !== 'section' || !footer) return { title: '', header: '', rows: [], footer: '', buttons: [], text };
  const code = blocks.map((b) => b.text?.text ?? '').filter((t) => t.startsWith('```')).flatMap((t) => unescape(t.slice(3, -3)).split('\n'));
  return {
    title: unescape(blocks[0].text?.text ?? '').replace(/^\*(.*)\*$/s, '$1'), header: code[0] ?? '', rows: code.slice(1),
    footer: unescape(footer.elements?.[0]?.text ?? ''), buttons: neutral(body), text,
  };
}

/** An alert card: header, the section's lines, the buttons; once acted on, the context line alone. */
function alertSeen(body: Record<string, unknown>): SeenAlert {
  const blocks = blocksOf(body);
  const lines = blocks.filter((b) => b.type === 'section' || b.type === 'context')
    .flatMap((b) => (b.text?.text ?? b.elements?.map((e) => e.text ?? '').join('\n') ?? '').split('\n')).map(unescape);
  return { title: unescape(blocks.find((b) => b.type === 'header')?.text?.text ?? ''), lines, buttons: neutral(body) };
}

/** A review card: header, `*label*: value` lines, the context status line, Keep / Revoke. */
function reviewSeen(body: Record<string, unknown>): SeenApproval {
  const blocks = blocksOf(body);
  return {
    title: unescape(blocks.find((b) => b.type === 'header')?.text?.text ?? ''),
    fields: new Map([...cardFields(body)].map(([k, v]) => [unescape(k), unescape(v)])),
    status: unescape(blocks.find((b) => b.type === 'context')?.elements?.[0]?.text ?? ''), buttons: neutral(body),
  };
}
