// The Lark listeners: DMs and @mentions (text commands, same grammar as Slack), the bot menu, card
// button callbacks, and the contact events that offboard an employee. All decisions live in bot/core;
// identity, locale, channel kind, audience and refusals in the conversation layer (bot/conversation);
// this file translates Lark payloads in and card JSON 2.0 out, and gives the layer its port.
//  - Every handler is wrapped: deduplicated by `event_id` (Lark re-pushes for hours), and it never
//    throws (under the SDK's adapters and WSClient a throw would crash the process or answer 500).
//  - Events are answered at once and worked on afterwards (Lark wants 200 within 3 s).
//  - Card callbacks answer within `callbackBudgetMs` with a toast and, when ready, the updated card;
//    slower work finishes by `im.message.patch`, falling back to a new message when Lark says the card
//    cannot be updated (230054, 220340, …) so the user always sees the outcome.
//  - In a group chat the asker's own card goes to them privately (a DM), never into the group; its
//    Share button posts the group's least-privileged view into the group.
import { createHash } from 'node:crypto';
import { auditText, type AuditInput } from '../core/audit-query-run.ts';
import { isAuditReportCommand } from '../core/audit-report-command.ts';
import type { Conversation } from '../conversation/layer.ts';
import type { ConversationPort, ReplyKind, Turn as ConversationTurn } from '../conversation/types.ts';
import type { Employee } from '../core/domain.ts';
import { ErrorCode, isCustosError } from '../core/errors.ts';
import type { Asker } from '../core/lookup.ts';
import { t, type Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { RefusedInteraction } from '../core/refusals.ts';
import { errorView, helpView, noticeView, type View } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { commandTimer, type CommandObserver } from '../metrics.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { LarkApiError, type LarkApi } from './api.ts';
import { ACTION_AUDIT_PAGE } from './audit-cards.ts';
import { withMentionIds, type LarkAudit } from './audit-handlers.ts';
import { ACTION_PICK, ACTION_SHARE, renderView, type LarkCard } from './cards.ts';
import { larkProfile } from './identity.ts';
import { WorkLimiter } from '../runtime/work-limiter.ts';
import type { OnceGuard } from './guards.ts';
import './messages.ts';
import type { Offboarding } from './offboard.ts';
import { securityClick, securityDecisionOf } from './security-cards.ts';
import type { AdminDecision, SecurityService } from '../core/security/guard.ts';
import type { LarkApprovalFlow } from './approval-handlers.ts';
import { reviewDecisionOf, type LarkReviewFlow } from './review-handlers.ts';
import type { ReviewDecision } from '../core/reviews/types.ts';

export interface LarkHandlerDeps {
  api: LarkApi;
  directory: EmployeeDirectory;
  /**
   * Every turn goes through the one conversation layer: it identifies (bound open_id, else the contact
   * e-mail once), records refusals, works out channel kinds and audiences, and runs lookups and shares.
   */
  conversation: Conversation;
  offboarding: Offboarding;
  /** Requests, approvals and exports (approval-handlers.ts); without it those buttons and `export` do nothing. */
  approvals?: LarkApprovalFlow;
  events: OnceGuard;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  /** How long a card callback may work before answering with a toast and finishing by patch. */
  callbackBudgetMs?: number;
  /** `audit …` queries (admins, auditors, the DPO); absent: the words are read as a lookup. */
  audit?: LarkAudit;
  /** Keep / Revoke on access-review cards (review-handlers.ts); absent: those buttons do nothing. */
  reviews?: LarkReviewFlow;
  /** Decides clicks on the security group's alert cards; absent: those buttons do nothing. */
  security?: SecurityService;
  /** Times each command (`custos_command_duration_seconds{platform="lark"}`). */
  metrics?: CommandObserver;
  /** Observes every handler call (tests count them). */
  onHandlerCall?: (eventType: string) => void;
}

/** Lark waits 3 s for a callback's answer; ours leaves room for decryption, checks and the network. */
const CALLBACK_BUDGET_MS = 2000;
const CALLBACK_CONCURRENCY = 8;

type Data = Record<string, unknown>;
type Handler = (data: Data) => Promise<unknown>;
export type CallbackAnswer = { toast?: { type: 'success' | 'info' | 'warning' | 'error'; content: string }; card?: { type: 'raw'; data: LarkCard } };

/** Where one request came from and how to answer it. */
interface Turn {
  openId: string;
  chatId: string; // the chat the request came from
  group: boolean;
  correlationId: string;
}

export class LarkHandlers {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly callbacks = new WorkLimiter(CALLBACK_CONCURRENCY);

  constructor(private readonly deps: LarkHandlerDeps) {}

  /** The handler map for `EventDispatcher.register`. */
  handlers(): Record<string, Handler> {
    const raw: Record<string, Handler> = {
      'im.message.receive_v1': async (d) => { this.background(() => this.onMessage(d)); return {}; },
      'application.bot.menu_v6': async (d) => { this.background(() => this.onMenu(d)); return {}; },
      'card.action.trigger': (d) => this.onCardAction(d),
      'contact.user.deleted_v3': async (d) => { await this.onUserLeft(d, true); return {}; },
      'contact.user.updated_v3': async (d) => { await this.onUserLeft(d, false); return {}; },
    };
    return Object.fromEntries(Object.entries(raw).map(([type, h]) => [type, this.guarded(type, h)]));
  }

  /** Waits for work started after an event was answered (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private guarded(type: string, handler: Handler): Handler {
    return async (data) => {
      const eventId = typeof data.event_id === 'string' ? data.event_id : typeof data.uuid === 'string' ? data.uuid : undefined;
      if (eventId && !(await this.deps.events.first(eventId))) {
        this.deps.logger.info({ type }, 'lark: duplicate delivery dropped');
        return {};
      }
      try {
        this.deps.onHandlerCall?.(type);
        return await handler(data);
      } catch (err) {
        this.deps.logger.error({ err: errName(err), type }, 'lark: handler failed');
        if (eventId) await this.deps.events.forget(eventId);
        return {};
      }
    };
  }

  private background(work: () => Promise<void>): void {
    const p: Promise<void> = work().catch((err: unknown) => { this.deps.logger.error({ err: errName(err) }, 'lark: background work failed'); })
      .finally(() => { this.pending.delete(p); });
    this.pending.add(p);
  }

  // ---- messages and menu ---------------------------------------------------------------------------

  private async onMessage(d: Data): Promise<void> {
    const message = obj(d.message);
    const openId = str(obj(obj(d.sender).sender_id).open_id);
    if (!openId || str(obj(d.sender).sender_type) === 'app') return;
    if (str(message.message_type) !== 'text') return;
    const group = str(message.chat_type) !== 'p2p';
    // In groups Lark delivers only messages that @mention the bot (default permissions); check anyway.
    const mentions = Array.isArray(message.mentions) ? message.mentions as Data[] : [];
    if (group && mentions.length === 0) return;
    const turn: Turn = { openId, chatId: str(message.chat_id), group, correlationId: correlationIdOf(str(d.event_id) || str(message.message_id)) };
    // `audit by @someone …`: the mentioned people stay in the query, as open_ids.
    const typed = textOf(str(message.content));
    const audit = this.deps.audit ? auditText(withMentionIds(typed, mentions)) : null;
    // `audit report …` asks for a report file (an audit export the DPO approves), not a query.
    if (audit !== null && this.deps.approvals && isAuditReportCommand(audit)) return this.requestText(audit, turn, 'report');
    if (audit !== null) return this.audit({ text: audit }, turn);
    // Slack users type `/customer …`; the same words work here (Lark has no slash commands).
    const text = stripMentions(typed, mentions).replace(/^\/customer\b\s*/i, '');
    await this.text(text, turn);
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

  /** A query, help request or anything else a user typed: the layer's, except `export …` / `erase …` (requests). */
  private async text(text: string, turn: Turn): Promise<void> {
    if (this.deps.approvals?.handlesText(text)) return this.requestText(text, turn);
    await this.deps.conversation.text(this.neutral(turn), text, this.port(turn));
  }

  /** `export …` / `erase …` typed, or `audit report …` (`report`: the words after `audit`). */
  private async requestText(text: string, turn: Turn, kind: 'typed' | 'report' = 'typed'): Promise<void> {
    const done = commandTimer(this.deps.metrics, 'lark');
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(turn, 'request', (l) => { locale = l; });
      const asker = await this.asker(turn, employee);
      const at = { employee, channelKind: asker.channel, messageId: '' };
      await this.reply(turn, kind === 'report' ? await this.deps.approvals!.reportForm(at, text) : await this.deps.approvals!.textCommand(at, text));
    } catch (err) {
      await this.fail(turn, err, locale);
    } finally {
      done(kind === 'report' ? 'report' : /^\s*erase/i.test(text) ? 'erase' : 'export');
    }
  }

  /** `audit …` typed, or a page turn: answered privately, like every reply to one person. */
  private async audit(input: AuditInput, turn: Turn): Promise<void> {
    await this.reply(turn, await this.auditCard(input, turn));
  }

  private auditCard(input: AuditInput, turn: Turn): Promise<LarkCard> {
    return this.deps.audit!.card(input, {
      openId: turn.openId, correlationId: turn.correlationId, ...(turn.group ? { groupChat: turn.chatId } : {}),
      identify: (setLocale) => this.identify(turn, 'audit', setLocale),
      channel: () => this.channelKind(turn),
    });
  }

  // ---- card callbacks --------------------------------------------------------------------------------

  private async onCardAction(d: Data): Promise<CallbackAnswer> {
    const openId = str(obj(d.operator).open_id);
    const action = obj(d.action);
    const value = obj(action.value);
    const context = obj(d.context);
    if (!openId) return {};
    const customerId = str(value.c);
    const groupChat = str(value.g);
    // A button on a private copy names the group it belongs to; otherwise it lives in the chat it was clicked in.
    const turn: Turn = {
      openId,
      chatId: groupChat || str(context.open_chat_id),
      group: groupChat !== '',
      correlationId: correlationIdOf(str(d.event_id) || str(d.token)),
    };
    const messageId = str(context.open_message_id);
    const decision = securityDecisionOf(str(value.a));
    if (decision) return this.withinBudget(turn, messageId, () => this.securityAction(turn, decision, customerId));
    const review = reviewDecisionOf(str(value.a));
    // Review and approval decisions update every copy of their card themselves: a late toast is not re-sent.
    if (review) return this.withinBudget(turn, messageId, () => this.reviewAction(turn, review, str(value.r)), true);
    switch (str(value.a)) {
      case ACTION_PICK:
      case ACTION_SHARE: return this.withinBudget(turn, messageId, () => this.click(turn, str(value.a), customerId));
      case ACTION_AUDIT_PAGE:
        if (!this.deps.audit || !str(value.t)) return {};
        return this.withinBudget(turn, messageId, async () => ({ card: { type: 'raw', data: await this.auditCard({ token: str(value.t) }, turn) } }));
      default:
        if (!this.deps.approvals?.handles(str(value.a))) return {};
        return this.withinBudget(turn, messageId, () => this.approvalAction(turn, messageId, value, obj(action.form_value)), this.deps.approvals.isDecision(str(value.a)));
    }
  }

  /**
   * Answers the callback with the outcome when it is ready in time; otherwise with an "in progress" toast,
   * and the outcome replaces the clicked card later, or — a toast only — arrives as one new message,
   * unless `inPlace` (the service updates every copy of the card, which then says the outcome). Work
   * runs at most `CALLBACK_CONCURRENCY` at once, so a burst of clicks cannot starve the answers behind it.
   */
  private async withinBudget(turn: Turn, messageId: string, work: () => Promise<CallbackAnswer>, inPlace = false): Promise<CallbackAnswer> {
    const budget = this.deps.callbackBudgetMs ?? CALLBACK_BUDGET_MS;
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
    return { toast: { type: 'info', content: t('lark.working', await this.localeOf(turn)) } };
  }

  /** Pick / Share on a lookup card, by the layer; its private replies become the callback's answer. */
  private async click(turn: Turn, action: string, value: string): Promise<CallbackAnswer> {
    const replies: { view: View; kind: ReplyKind }[] = [];
    const port: ConversationPort = { ...this.port(turn), replyPrivately: async (view, kind) => { replies.push({ view, kind }); } };
    const { locale } = await this.deps.conversation.click(this.neutral(turn), action, value, port);
    const last = replies.at(-1);
    if (!last) return {};
    const text = last.view.kind === 'notice' ? last.view.text : '';
    switch (last.kind) {
      case 'answer': return { toast: { type: 'success', content: t('lark.opened', locale) }, card: { type: 'raw', data: renderView(last.view, turn.group ? turn.chatId : undefined) } };
      case 'done': return { toast: { type: 'success', content: text } };
      case 'notice': return { toast: { type: 'info', content: text } };
      case 'failure': return { toast: { type: 'error', content: text || t(ErrorCode.Internal, locale) }, card: { type: 'raw', data: renderView(last.view) } };
    }
  }

  /** Unfreeze / Keep frozen / Revoke on an alert card; the card changes for everyone only when it was done. */
  private async securityAction(turn: Turn, decision: AdminDecision, employeeId: string): Promise<CallbackAnswer> {
    if (!this.deps.security || !/^E-\d{1,10}$/.test(employeeId)) return {};
    let locale = this.deps.defaultLocale;
    try {
      const clicker = await this.identify(turn, 'security', (l) => { locale = l; });
      const r = await securityClick({ security: this.deps.security, directory: this.deps.directory }, { employee: clicker, openId: turn.openId }, decision, employeeId);
      return { toast: { type: r.ok ? 'success' : 'warning', content: r.line }, ...(r.card ? { card: { type: 'raw' as const, data: r.card } } : {}) };
    } catch (err) {
      // A toast only: an error card would replace the alert for the whole group.
      const view = errorView(err, locale, this.deps.securityContact);
      return { toast: { type: 'error', content: view.kind === 'notice' ? view.text : t(ErrorCode.Internal, locale) } };
    }
  }

  /** Keep / Revoke: the core decides and updates every copy; the callback shows the clicker the outcome. */
  private async reviewAction(turn: Turn, decision: ReviewDecision, reviewId: string): Promise<CallbackAnswer> {
    if (!this.deps.reviews) return {};
    let locale = this.deps.defaultLocale;
    try {
      const clicker = await this.identify(turn, 'review', (l) => { locale = l; });
      return await this.deps.reviews.decide(clicker, turn.openId, reviewId, decision);
    } catch (err) {
      // A toast only: the review card must keep its buttons for the reviewer.
      return { toast: (await this.failAnswer(err, locale)).toast! };
    }
  }

  private async approvalAction(turn: Turn, messageId: string, value: Data, form: Data): Promise<CallbackAnswer> {
    let locale = this.deps.defaultLocale;
    try {
      const decision = this.deps.approvals!.isDecision(str(value.a));
      const employee = await this.identify(turn, decision ? 'approval' : 'request', (l) => { locale = l; }, decision ? str(value.r) : undefined);
      const asker = await this.asker(turn, employee);
      return await this.deps.approvals!.onAction({ employee, channelKind: asker.channel, messageId }, value, form);
    } catch (err) {
      // A toast only: the clicked card (an approver's copy, a form) must stay usable.
      const { toast } = await this.failAnswer(err, locale);
      return toast ? { toast } : {};
    }
  }

  private async failAnswer(err: unknown, locale: Locale): Promise<CallbackAnswer> {
    const view = errorView(err, locale, this.deps.securityContact);
    if (view.kind === 'notice' && view.tone === 'error') this.deps.logger.error({ err: errName(err) }, 'lark: card action failed');
    return { toast: { type: 'error', content: view.kind === 'notice' ? view.text : t(ErrorCode.Internal, locale) }, card: { type: 'raw', data: renderView(view) } };
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
    await this.deps.offboarding.chatUserLeft(openId);
  }

  // ---- shared steps ----------------------------------------------------------------------------------

  /** The layer's identification (refusals recorded there); the locale to answer in follows the outcome. */
  private async identify(turn: Turn, interaction: RefusedInteraction, setLocale: (l: Locale) => void, requestId?: string): Promise<Employee> {
    const who = await this.deps.conversation.identify(this.neutral(turn), this.port(turn), { interaction, ...(requestId ? { requestId } : {}) });
    if (!who.ok) {
      setLocale(who.locale);
      throw who.refusal;
    }
    setLocale(who.employee.locale);
    return who.employee;
  }

  private async asker(turn: Turn, employee: Employee): Promise<Asker> {
    return { employee, platform: 'lark', platformUserId: turn.openId, channel: await this.channelKind(turn), correlationId: turn.correlationId };
  }

  /** The employee's locale when known, else the configured default (zh-CN unless set otherwise). */
  private localeOf(turn: Turn): Promise<Locale> {
    return this.deps.conversation.localeOf(this.neutral(turn), this.port(turn));
  }

  /** A chat outside a group (p2p, the bot menu) is a DM; a group's kind is Lark's, cached by the layer. */
  private channelKind(turn: Turn): Promise<ChannelKind> {
    return this.deps.conversation.channelKind(this.neutral(turn), this.port(turn));
  }

  private neutral(turn: Turn): ConversationTurn {
    return { platform: 'lark', userId: turn.openId, conversationId: turn.chatId, correlationId: turn.correlationId, ...(turn.group ? {} : { kind: 'dm' as const }) };
  }

  /** What only Lark can answer or do for one turn: contact API, chat info and members, replies as cards. */
  private port(turn: Turn): ConversationPort {
    const { api } = this.deps;
    return {
      identity: 'chat',
      profile: (openId) => larkProfile(api, openId),
      conversationKind: async (chatId) => {
        const chat = await api.chat(chatId);
        return chat.mode === 'p2p' ? 'dm' : chat.external ? 'shared' : chat.private ? 'private' : 'public';
      },
      members: (chatId) => api.chatMembers(chatId),
      // A lookup card from a group keeps the group's id in its buttons, so its Share posts there.
      replyPrivately: (view) => this.reply(turn, renderView(view, turn.group ? turn.chatId : undefined)),
      // The group reads the shared card; the uuid makes a redelivered share one message.
      replyInConversation: async (view) => { await api.sendCard('chat_id', turn.chatId, renderView(view), `${turn.correlationId}-s`); },
    };
  }

  /** In a DM, into the DM; from a group, privately to the asker (Lark has no ephemeral bot replies here). */
  private async reply(turn: Turn, card: LarkCard): Promise<void> {
    if (turn.group || !turn.chatId) await this.deps.api.sendCard('open_id', turn.openId, card, `${turn.correlationId}-r`);
    else await this.deps.api.sendCard('chat_id', turn.chatId, card, `${turn.correlationId}-r`);
  }

  private async fail(turn: Turn, err: unknown, locale: Locale): Promise<void> {
    const view: View = errorView(err, locale, this.deps.securityContact);
    if (view.kind === 'notice' && view.tone === 'error') this.deps.logger.error({ err: errName(err) }, 'lark: lookup failed');
    await this.reply(turn, renderView(view)).catch((e: unknown) => this.deps.logger.error({ err: errName(e) }, 'lark: could not send the reply'));
  }
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

/** A short stable id from Lark's event id (not the raw id: it is an opaque long token). */
export function correlationIdOf(larkId: string): string {
  return `lk-${createHash('sha256').update(larkId).digest('base64url').slice(0, 22)}`;
}

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
