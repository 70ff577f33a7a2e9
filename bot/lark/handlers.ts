// The Lark listeners: DMs and @mentions (text commands, same grammar as Slack), the bot menu, card
// button callbacks, and the contact events that offboard an employee. All decisions live in bot/core;
// identity, locale, channel kind, audience and refusals in the conversation layer (bot/conversation);
// this file translates Lark payloads in and card JSON 2.0 out, and gives the layer its port.
//  - Every handler is wrapped: deduplicated by `event_id` (Lark re-pushes for hours), and it never
//    throws (under the SDK's adapters and WSClient a throw would crash the process or answer 500).
//  - Events are answered at once and worked on afterwards (Lark wants 200 within 3 s); a message is
//    first recorded in the pending-answer ledger, so another replica answers it if this one dies (pending.ts).
//  - Card callbacks answer within `callbackBudgetMs` with a toast and, when ready, the updated card;
//    slower work finishes by `im.message.patch`, falling back to a new message when Lark says the card
//    cannot be updated (230054, 220340, …) so the user always sees the outcome.
//  - In a group chat the asker's own card goes to them privately (a DM), never into the group; its
//    Share button posts the group's least-privileged view into the group.
import { randomBytes } from 'node:crypto';
import { auditText } from '../core/audit-query-run.ts';
import { actionName, type ActionName } from '../conversation/codec.ts';
import type { Conversation } from '../conversation/layer.ts';
import type { CardUpdate, ConversationPort, FormView, ReplyKind, ReplyView, Turn as ConversationTurn } from '../conversation/types.ts';
import { ErrorCode, isCustosError } from '../core/errors.ts';
import { t, type Locale } from '../core/messages.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import { helpView, noticeView, type View } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { LarkApiError, type LarkApi } from './api.ts';
import { ACTION_DENY_SUBMIT, ACTION_REQUEST_SUBMIT, INPUT_DURATION, INPUT_GROUPS, INPUT_REASON, renderApproval, renderRequestForm } from './approval-cards.ts';
import './approval-messages.ts';
import { renderAuditCard } from './audit-cards.ts';
import { withMentionIds } from './audit-handlers.ts';
import { card, renderView, text as textElement, type LarkCard } from './cards.ts';
import { larkProfile } from './identity.ts';
import { WorkLimiter } from '../runtime/work-limiter.ts';
import type { ReplyGuard } from '../runtime/pending-answers.ts';
import type { AnswerLease } from '../store/answer-ledger.ts';
import { openMessage, type LarkMessageRecord, type LarkPendingAnswers } from './pending.ts';
import type { OnceGuard } from '../runtime/once.ts';
import './messages.ts';
import { BackgroundWork } from '../runtime/background.ts';
import { derivedCorrelationId } from '../runtime/correlation.ts';
import { offboardChatUser, type ChatOffboardingDeps } from '../runtime/chat-offboarding.ts';
import { renderReviewCard } from './review-cards.ts';

export interface LarkHandlerDeps {
  api: LarkApi;
  /**
   * Every turn goes through the one conversation layer, with the bot's services for clicks and forms
   * (`Conversation.with`): it identifies (bound open_id, else the contact e-mail once), records
   * refusals, works out channel kinds and audiences, and dispatches lookups, shares, requests,
   * decisions, reviews, security alerts and audit queries.
   */
  conversation: Conversation;
  offboarding: ChatOffboardingDeps;
  /** Claims a request form copy's nonce (a Lark form card can be submitted from every copy); absent: no forms. */
  approvals?: ApprovalService;
  events: OnceGuard;
  /** The pending-answer ledger for messages; absent: a message dies with the bot that acknowledged it. */
  pending?: LarkPendingAnswers;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  /** How long a card callback may work before answering with a toast and finishing by patch. */
  callbackBudgetMs?: number;
  /** `audit …` is an audit query (admins, auditors, the DPO); absent: the words are read as a lookup. */
  audit?: boolean;
  /** Observes every handler call (tests count them). */
  onHandlerCall?: (eventType: string) => void;
}

/** Lark waits 3 s for a callback's answer; ours leaves room for decryption, checks and the network. */
const CALLBACK_BUDGET_MS = 2000;
const CALLBACK_CONCURRENCY = 8;

type Data = Record<string, unknown>;
type Handler = (data: Data, lease?: AnswerLease) => Promise<unknown>;
const MESSAGE_EVENT = 'im.message.receive_v1';
export type CallbackAnswer = { toast?: { type: 'success' | 'info' | 'warning' | 'error'; content: string }; card?: { type: 'raw'; data: LarkCard } };

/** Where one request came from and how to answer it. */
interface Turn {
  openId: string;
  chatId: string; // the chat the request came from
  group: boolean;
  correlationId: string;
  /** The clicked card, where a request form opened from it sends its outcome (a reveal) later. */
  messageId?: string;
  /** A ledgered message's replies go out only under its live lease (pending-answers.ts). */
  guard?: ReplyGuard;
}

/** Where each action's value is in a Lark button's value object. */
const VALUE_KEY: Record<ActionName, string> = {
  pick: 'c', share: 'c', reveal: 'v', access: 'v', audit_export: 'v', approve: 'r', deny: 'r', cancel: 'r',
  review_keep: 'r', review_revoke: 'r', security_unfreeze: 'c', security_keep: 'c', security_revoke: 'c', audit_page: 't',
};
const IN_PLACE: ReadonlySet<ActionName> = new Set(['approve', 'deny', 'cancel', 'review_keep', 'review_revoke']);
/** Commands whose refusal replaces the clicked card: the lookup card's own buttons. Elsewhere a toast keeps the card usable. */
const CARD_ON_FAILURE: ReadonlySet<string> = new Set(['pick', 'share']);

export class LarkHandlers {
  private readonly callbacks = new WorkLimiter(CALLBACK_CONCURRENCY);
  private readonly work: BackgroundWork;

  constructor(private readonly deps: LarkHandlerDeps) {
    this.work = new BackgroundWork(deps.logger, 'lark', errName);
  }

  /** The handler map for `EventDispatcher.register`. */
  handlers(): Record<string, Handler> {
    const raw: Record<string, Handler> = {
      [MESSAGE_EVENT]: async (d, lease) => { this.background(() => this.answerMessage(d, lease)); return {}; },
      'application.bot.menu_v6': async (d) => { this.background(() => this.onMenu(d)); return {}; },
      'card.action.trigger': (d) => this.onCardAction(d),
      'contact.user.deleted_v3': async (d) => { await this.onUserLeft(d, true); return {}; },
      'contact.user.updated_v3': async (d) => { await this.onUserLeft(d, false); return {}; },
    };
    return Object.fromEntries(Object.entries(raw).map(([type, h]) => [type, this.guarded(type, h)]));
  }

  /** Waits for work started after an event was answered (shutdown, tests). */
  drain(): Promise<void> {
    return this.work.drain();
  }

  /** Finishes a message whose bot died (claimed from the ledger), its replies through `guard`. */
  resume(record: LarkMessageRecord, guard: ReplyGuard): Promise<void> {
    return this.onMessage(record as unknown as Data, guard);
  }

  private guarded(type: string, handler: Handler): Handler {
    return async (data) => {
      const eventId = typeof data.event_id === 'string' ? data.event_id : typeof data.uuid === 'string' ? data.uuid : undefined;
      // A message is recorded before its ack, ahead of the dedupe (pending.ts).
      const { pending } = this.deps;
      const lease = pending && type === MESSAGE_EVENT ? await openMessage(pending, data) : undefined;
      if (lease === 'duplicate' || (eventId && !(await this.deps.events.first(eventId)))) {
        // Opened, then found answered already: nothing owes an answer.
        if (pending && lease && lease !== 'duplicate') await pending.answers.answer(lease, async () => undefined);
        this.deps.logger.info({ type }, 'lark: duplicate delivery dropped');
        return {};
      }
      try {
        this.deps.onHandlerCall?.(type);
        return await handler(data, lease);
      } catch (err) {
        this.deps.logger.error({ err: errName(err), type }, 'lark: handler failed');
        if (eventId) await this.deps.events.forget(eventId);
        return {};
      }
    };
  }

  private background(work: () => Promise<void>): void {
    void this.work.run(work);
  }

  // ---- messages and menu ---------------------------------------------------------------------------

  /** A message's answer, under its lease when the ledger took it (else as before: unprotected). */
  private async answerMessage(d: Data, lease: AnswerLease | undefined): Promise<void> {
    const answers = this.deps.pending?.answers;
    if (answers) await answers.answer(lease, (guard) => this.onMessage(d, guard));
    else await this.onMessage(d);
  }

  private async onMessage(d: Data, guard?: ReplyGuard): Promise<void> {
    const message = obj(d.message);
    const openId = str(obj(obj(d.sender).sender_id).open_id);
    if (!openId || str(obj(d.sender).sender_type) === 'app') return;
    if (str(message.message_type) !== 'text') return;
    const group = str(message.chat_type) !== 'p2p';
    // In groups Lark delivers only messages that @mention the bot (default permissions); check anyway.
    const mentions = Array.isArray(message.mentions) ? message.mentions as Data[] : [];
    if (group && mentions.length === 0) return;
    const turn: Turn = { openId, chatId: str(message.chat_id), group, correlationId: correlationIdOf(str(d.event_id) || str(message.message_id)), ...(guard ? { guard } : {}) };
    // `audit by @someone …`: the mentioned people stay in the query, as open_ids.
    const typed = textOf(str(message.content));
    const audit = this.deps.audit ? auditText(withMentionIds(typed, mentions)) : null;
    if (audit !== null) {
      await this.deps.conversation.audit(this.neutral(turn), audit, this.port(turn));
      return;
    }
    // Slack users type `/customer …`; the same words work here (Lark has no slash commands).
    const text = stripMentions(typed, mentions).replace(/^\/customer\b\s*/i, '');
    await this.deps.conversation.text(this.neutral(turn), text, this.port(turn));
  }

  private async onMenu(d: Data): Promise<void> {
    const openId = str(obj(obj(d.operator).operator_id).open_id);
    if (!openId) return;
    const turn: Turn = { openId, chatId: '', group: false, correlationId: correlationIdOf(str(d.event_id)) };
    const locale = await this.localeOf(turn);
    const key = str(d.event_key);
    const view = key === 'lookup' ? noticeView(t('lark.menu.lookup', locale)) : helpView(locale, this.deps.securityContact);
    await this.reply(turn, renderView(view));
  }

  // ---- card callbacks --------------------------------------------------------------------------------

  private async onCardAction(d: Data): Promise<CallbackAnswer> {
    const openId = str(obj(d.operator).open_id);
    const action = obj(d.action);
    const value = obj(action.value);
    const context = obj(d.context);
    if (!openId) return {};
    const groupChat = str(value.g);
    // A button on a private copy names the group it belongs to; otherwise it lives in the chat it was clicked in.
    const messageId = str(context.open_message_id);
    const turn: Turn = {
      openId,
      chatId: groupChat || str(context.open_chat_id),
      group: groupChat !== '',
      correlationId: correlationIdOf(str(d.event_id) || str(d.token)),
      messageId,
    };
    const a = str(value.a);
    const form = obj(action.form_value);
    const name = actionName(a);
    // Approval and review decisions update every copy of their card themselves: a late toast is not re-sent.
    const inPlace = a === ACTION_DENY_SUBMIT || (name !== null && IN_PLACE.has(name));
    return this.withinBudget(turn, messageId, () => this.callback(turn, (port) => {
      if (a === ACTION_REQUEST_SUBMIT) return this.submitRequest(turn, str(value.m), str(value.n), form, port);
      if (a === ACTION_DENY_SUBMIT) return this.deps.conversation.submit(this.neutral(turn), 'deny', str(value.r), { reason: form[INPUT_REASON] }, port);
      return this.deps.conversation.click(this.neutral(turn), a, name ? str(value[VALUE_KEY[name]]) : '', port);
    }), inPlace);
  }

  /** A request form copy submits once: its nonce is claimed before the layer creates the request. */
  private async submitRequest(turn: Turn, metadata: string, nonce: string, form: Data, port: ConversationPort): Promise<{ command: string; locale: Locale }> {
    // As Lark sent them (an input left empty is left out); the form's schema reads them (codec.ts).
    const inputs = { purpose: form[INPUT_REASON], duration: form[INPUT_DURATION], groups: form[INPUT_GROUPS] };
    const approvals = this.deps.approvals;
    if (approvals && /^[0-9a-f]{24}$/.test(nonce) && !(await approvals.deps.requests.claimNotice(`lark-form:${nonce}`, approvals.deps.clock.now()))) {
      const locale = await this.localeOf(turn);
      await port.replyPrivately(noticeView(t('lark.approval.alreadySubmitted', locale)), 'notice');
      return { command: 'request_submit', locale };
    }
    return this.deps.conversation.submit(this.neutral(turn), 'request', metadata, inputs, port);
  }

  /**
   * Answers the callback with the outcome when it is ready in time; otherwise with an "in progress" toast,
   * and the outcome replaces the clicked card later, or — a toast only — arrives as one new message,
   * unless `inPlace` (the service updates every copy of the card, which then says the outcome). Work
   * runs at most `CALLBACK_CONCURRENCY` at once, so a burst of clicks cannot starve the answers behind it.
   */
  private async withinBudget(turn: Turn, messageId: string, work: () => Promise<CallbackAnswer>, inPlace = false): Promise<CallbackAnswer> {
    const budget = this.deps.callbackBudgetMs ?? CALLBACK_BUDGET_MS;
    // The "working" toast's locale is asked alongside the work, so a late answer is sent at the budget, not after one more read.
    const locale = this.localeOf(turn).catch(() => this.deps.defaultLocale);
    const result = this.callbacks.run(work);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), budget); });
    const first = await Promise.race([result, late]).finally(() => clearTimeout(timer));
    if (first !== 'late') return first;
    this.background(async () => {
      const answer = await result;
      if (answer.card) await this.updateCard(turn, messageId, answer.card.data);
      else if (answer.toast && !inPlace) await this.reply({ ...turn, group: false }, renderView(noticeView(answer.toast.content)));
    });
    // Not known by now (a burst queues reads): the default language, rather than miss Lark's 3 s.
    const known = await Promise.race([locale, new Promise<Locale>((resolve) => { setImmediate(() => resolve(this.deps.defaultLocale)); })]);
    return { toast: { type: 'info', content: t('lark.working', known) } };
  }

  /**
   * One click or form by the layer, its replies gathered into the callback's answer: a toast says what
   * happened; a card replaces the clicked one only where that card itself changes (a lookup card, an
   * audit page, a form opened or refused, an alert acted on). A refused decision keeps the card usable.
   */
  private async callback(turn: Turn, run: (port: ConversationPort) => Promise<{ command: string; locale: Locale }>): Promise<CallbackAnswer> {
    const replies: { view: ReplyView; kind: ReplyKind }[] = [];
    let answer: CallbackAnswer = {};
    const group = turn.group ? turn.chatId : undefined;
    const port: ConversationPort = {
      ...this.port(turn),
      replyPrivately: async (view, kind) => { replies.push({ view, kind }); },
      openForm: async (form) => { answer = { ...answer, ...await this.openForm(turn, form) }; },
      formProblem: async (p) => {
        answer = { toast: { type: 'error', content: p.text }, ...(p.retry ? { card: { type: 'raw', data: formCard(p.retry, p.text) } } : {}) };
      },
      updateCard: async (u) => { answer = { ...answer, card: { type: 'raw', data: updatedCard(u) } }; },
    };
    const { command, locale } = await run(port);
    const last = replies.at(-1);
    if (!last) return answer;
    const text = last.view.kind === 'notice' ? last.view.text : '';
    switch (last.kind) {
      case 'answer': return last.view.kind === 'audit-table' || command === 'audit'
        ? { card: { type: 'raw', data: renderAuditCard(last.view, group) } }
        : { toast: { type: 'success', content: t('lark.opened', locale) }, card: { type: 'raw', data: renderView(last.view as View, group) } };
      case 'done': return {
        ...answer, toast: { type: 'success', content: text },
        // A submitted form is replaced by what happened.
        ...(command === 'request_submit' ? { card: { type: 'raw' as const, data: renderView(noticeView(text)) } } : {}),
      };
      case 'notice': return { ...answer, toast: { type: 'info', content: text } };
      case 'failure': return {
        toast: { type: 'error', content: text || t(ErrorCode.Internal, locale) },
        ...(CARD_ON_FAILURE.has(command) ? { card: { type: 'raw' as const, data: renderView(last.view as View) } } : {}),
      };
    }
  }

  /** A request form goes into the clicker's DM as a new card; the Deny form opens on the approver's own copy. */
  private async openForm(turn: Turn, form: FormView): Promise<CallbackAnswer> {
    if (form.kind === 'deny') return { card: { type: 'raw', data: formCard(form) } };
    await this.deps.api.sendCard('open_id', turn.openId, formCard(form));
    return { toast: { type: 'info', content: t('lark.approval.formSent', await this.localeOf(turn)) } };
  }

  /** Patches the clicked card; when Lark says it cannot be updated, the outcome arrives as a new message. */
  private async updateCard(turn: Turn, messageId: string, card: LarkCard): Promise<void> {
    const uuid = `${turn.correlationId}-u`;
    const how = messageId ? await this.deps.api.patchOrResend(messageId, turn.openId, card, uuid)
      : (await this.deps.api.sendCard('open_id', turn.openId, card, uuid), 'resent');
    if (how === 'resent') this.deps.logger.info('lark: card not updatable; sending the outcome as a new message');
  }

  // ---- offboarding -------------------------------------------------------------------------------------

  private async onUserLeft(d: Data, deleted: boolean): Promise<void> {
    const object = obj(d.object);
    const openId = str(object.open_id);
    if (!openId) return;
    if (!deleted && obj(object.status).is_resigned !== true) return;
    await offboardChatUser(this.deps.offboarding, 'lark', openId);
  }

  // ---- shared steps ----------------------------------------------------------------------------------

  /** The employee's locale when known, else Lark's for the user, else the configured default. */
  private localeOf(turn: Turn): Promise<Locale> {
    return this.deps.conversation.localeOf(this.neutral(turn), this.port(turn));
  }

  /** A chat outside a group (p2p, the bot menu) is a DM; the clicked card is where a request form's outcome goes back. */
  private neutral(turn: Turn): ConversationTurn {
    return {
      platform: 'lark', userId: turn.openId, conversationId: turn.chatId, correlationId: turn.correlationId,
      ...(turn.group ? {} : { kind: 'dm' as const }), ...(turn.messageId ? { origin: { channel: turn.messageId } } : {}),
    };
  }

  /** What only Lark can answer or do for one turn: contact API, chat info and members, replies as cards. */
  private port(turn: Turn): ConversationPort {
    const { api } = this.deps;
    const group = turn.group ? turn.chatId : undefined;
    return {
      identity: 'chat',
      profile: (openId) => larkProfile(api, openId),
      conversationKind: async (chatId) => {
        const chat = await api.chat(chatId);
        return chat.mode === 'p2p' ? 'dm' : chat.external ? 'shared' : chat.private ? 'private' : 'public';
      },
      members: (chatId) => api.chatMembers(chatId),
      // A card from a group keeps the group's id in its buttons, so its Share (or page) acts there.
      replyPrivately: (view) => this.reply(turn, view.kind === 'audit-table' ? renderAuditCard(view, group) : renderView(view, group)),
      // The group reads the shared card; the uuid makes a redelivered share one message.
      replyInConversation: async (view) => { await guarded(turn, () => api.sendCard('chat_id', turn.chatId, renderView(view), `${turn.correlationId}-s`)); },
      // `export …` typed: the form card is the reply (privately, like every reply to one person).
      openForm: (form) => this.reply(turn, formCard(form)),
    };
  }

  /** In a DM, into the DM; from a group, privately to the asker (Lark has no ephemeral bot replies here). */
  private async reply(turn: Turn, card: LarkCard): Promise<void> {
    const [type, id] = turn.group || !turn.chatId ? ['open_id' as const, turn.openId] : ['chat_id' as const, turn.chatId];
    await guarded(turn, () => this.deps.api.sendCard(type, id, card, `${turn.correlationId}-r`));
  }
}

/** A send of a ledgered turn goes through its guard; any other as is. */
function guarded<T>(turn: Turn, send: () => Promise<T>): Promise<T | undefined> {
  return turn.guard ? turn.guard(send) : send();
}

/** A form as a card: a request form with a fresh nonce (one copy, one submission), or the Deny form on the approval card. */
function formCard(form: FormView, problem?: string): LarkCard {
  if (form.kind === 'request') return renderRequestForm(form.form, randomBytes(12).toString('hex'), problem);
  return renderApproval(form.card, { form: form.form, ...(problem ? { problem } : {}) });
}

/** An alert acted on names the user and the outcome (its evidence is not sent back with a click); a review shows its settled card. */
function updatedCard(update: CardUpdate): LarkCard {
  if (update.kind === 'review') return renderReviewCard(update.view);
  return card(update.title, [textElement(update.line)], 'grey');
}

/** `{"text":"@_user_1 C-000123"}` → the text; anything else → ''. */
function textOf(content: string): string {
  try {
    const v = JSON.parse(content) as { text?: unknown };
    return typeof v.text === 'string' ? v.text : '';
  } catch {
    return '';
  }
}

/** Removes the `@_user_N` placeholders Lark puts where mentions were (and any @_all). */
export function stripMentions(text: string, mentions: Data[] = []): string {
  let out = text;
  for (const m of mentions) if (typeof m.key === 'string' && m.key) out = out.split(m.key).join(' ');
  return out.replace(/@_(?:user_\d+|all)/g, ' ').replace(/\s+/g, ' ').trim();
}

/** From Lark's event id (an opaque long token). */
export const correlationIdOf = (larkId: string): string => derivedCorrelationId('lk', larkId);

/** The object at `v`, or an empty one: payload fields are read defensively, never trusted to exist. */
function obj(v: unknown): Data {
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Data : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function errName(err: unknown): string {
  if (err instanceof LarkApiError) return `${err.name}:${err.api}:${err.code}`;
  if (isCustosError(err)) return err.code;
  return err instanceof Error ? err.name : typeof err;
}
