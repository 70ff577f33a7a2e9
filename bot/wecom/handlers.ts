// What a verified, decrypted WeCom callback asks for. Text messages and card clicks become turns of
// the conversation layer (bot/conversation: identity, refusals, lookups, Pick); contact changes
// offboard. This file translates WeCom's XML fields in and gives the layer its port; it decides
// nothing about who may do what.
//  - WeCom retries a callback not answered within 5 s (three times): every delivery is claimed once by
//    its id (MsgId for messages; sender + CreateTime + kind for events, as WeCom's docs advise), the
//    HTTP answer goes out at once and the work runs after it.
//  - An application message is a one-to-one chat between the app and one member: the turn's
//    conversation is that member, of kind `dm`.
import { createHash } from 'node:crypto';
import type { Conversation } from '../conversation/layer.ts';
import type { CardUpdate, ConversationPort, ReplyView, Turn } from '../conversation/types.ts';
import { contactProfile } from '../core/identity.ts';
import { isCustosError } from '../core/errors.ts';
import { t } from '../core/messages.ts';
import { noticeView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { WeComApiError, type WeComApi } from './api.ts';
import type { OffboardingService } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import { BackgroundWork } from '../runtime/background.ts';
import { offboardChatUser } from '../runtime/chat-offboarding.ts';
import { derivedCorrelationId } from '../runtime/correlation.ts';
import type { OnceGuard } from '../runtime/once.ts';
import type { ResponseCodes } from './approval-notifier.ts';
import { answerInputs, promptText, type PendingReasons } from './reasons.ts';
import { clipBytes, finalLabel, LIMITS, parseButtonKey, renderView } from './render.ts';

export type Fields = Record<string, string>;

export interface WeComHandlerDeps {
  api: WeComApi;
  conversation: Conversation;
  /** A member who left (contact events) is offboarded through the shared service: idempotent, audited. */
  offboarding: OffboardingService;
  directory: EmployeeDirectory;
  events: OnceGuard;
  /** Response codes of clicked cards (approval-notifier.ts) and prompts waiting for a reason (reasons.ts). */
  codes: ResponseCodes;
  reasons: PendingReasons;
  /** Who receives alert cards (WECOM_SECURITY_USERS). */
  securityUsers: readonly string[];
  logger: Logger;
}

/** WeCom's task_id alphabet (≤ 128 bytes of letters, digits and `_-@`). */
const TASK_ID = /^[A-Za-z0-9_\-@]{1,128}$/;

/** user/get errors that mean "no profile for you" rather than a failure: 60011 no privilege, 60111 no such user. */
const PROFILE_UNAVAILABLE = new Set([60011, 60111]);
const profileUnavailable = (err: unknown) => err instanceof WeComApiError && PROFILE_UNAVAILABLE.has(err.code);
/** update_user's Status 5: 退出企业 (the member left; an API deletion may arrive this way). */
const STATUS_LEFT = '5';

export class WeComHandlers {
  private readonly work: BackgroundWork;

  constructor(private readonly deps: WeComHandlerDeps) {
    this.work = new BackgroundWork(deps.logger, 'wecom', errName);
  }

  /** Handles one callback; resolves when it may be answered (contact changes are done by then). */
  async handle(f: Fields): Promise<void> {
    const id = deliveryId(f);
    if (!id) return;
    if (!(await this.deps.events.first(id))) {
      this.deps.logger.info({ kind: f.MsgType }, 'wecom: duplicate delivery dropped');
      return;
    }
    try {
      if (f.MsgType === 'event' && f.Event === 'change_contact') return await this.contact(f);
      void this.work.run(() => this.turn(f, id));
    } catch (err) {
      // Not done: let WeCom's retry try again.
      await this.deps.events.forget(id);
      throw err;
    }
  }

  drain(): Promise<void> {
    return this.work.drain();
  }

  private async turn(f: Fields, id: string): Promise<void> {
    const userId = f.FromUserName ?? '';
    if (!userId) return;
    const turn: Turn = { platform: 'wecom', userId, conversationId: userId, correlationId: correlationIdOf(id), kind: 'dm', origin: { channel: userId } };
    if (f.MsgType === 'text') {
      const port = this.port(turn);
      const text = f.Content ?? '';
      // The answer to a prompt (reasons.ts), when one is waiting: the form submitted, or dropped.
      const awaited = await this.deps.reasons.take(userId);
      if (awaited) {
        const inputs = answerInputs(awaited, text);
        if (inputs) await this.deps.conversation.submit(turn, awaited.form, awaited.metadata, inputs, port);
        else await this.send(userId, noticeView(t('wecom.reason.cancelled', await this.deps.conversation.localeOf(turn, port))));
        return;
      }
      await this.deps.conversation.typed(turn, text, port);
      return;
    }
    if (f.MsgType === 'event' && f.Event === 'template_card_event') {
      // The card's one permitted update belongs to this click: kept for its final state (72 h).
      const taskId = f.TaskId && TASK_ID.test(f.TaskId) && f.ResponseCode && f.ResponseCode.length <= 512 ? f.TaskId : undefined;
      if (taskId) await this.deps.codes.remember(taskId, f.ResponseCode!);
      const key = parseButtonKey(f.EventKey ?? '');
      // A key custos never wrote is still a click: the layer refuses it and records the refusal.
      await this.deps.conversation.click(turn, key?.wireId ?? (f.EventKey ?? ''), key?.value ?? '', this.port(turn, taskId));
    }
  }

  private async contact(f: Fields): Promise<void> {
    const userId = f.UserID ?? '';
    const left = f.ChangeType === 'delete_user' || (f.ChangeType === 'update_user' && f.Status === STATUS_LEFT);
    if (userId && left) await offboardChatUser(this.deps, 'wecom', userId);
  }

  /** The layer's port for a one-to-one application chat with the turn's user; `clickedTask`: the card clicked. */
  private port(turn: Turn, clickedTask?: string): ConversationPort {
    const userId = turn.userId;
    const reply = (view: ReplyView) => this.send(userId, view);
    return {
      identity: 'chat',
      // The contact API's e-mail, else the 企业邮箱.
      profile: (id) => contactProfile(() => this.deps.api.user(id).then((u) => ({ email: u.email ?? u.bizMail })), profileUnavailable),
      conversationKind: async () => 'dm',
      members: async () => [userId],
      replyPrivately: reply,
      replyInConversation: reply,
      openForm: async (form) => {
        await this.deps.reasons.arm(userId, form);
        await this.deps.api.sendText(userId, clipBytes(promptText(form, await this.deps.conversation.localeOf(turn, this.port(turn))), LIMITS.textBytes));
      },
      // The problem, and the prompt again when the member can fix it (a bad duration, a reason with PII).
      formProblem: async (problem) => {
        await this.deps.api.sendText(userId, clipBytes(problem.text, LIMITS.textBytes));
        if (problem.retry) await this.port(turn).openForm!(problem.retry);
      },
      updateCard: (update) => this.updateCard(turn.userId, clickedTask, update),
    };
  }

  /**
   * An alert acted on: the clicked card's one update states the outcome; the other security members
   * are told in a message (their copies keep their buttons; a click there is answered "already done").
   * A settled review card is updated by the review notifier, which holds the copies.
   */
  private async updateCard(userId: string, taskId: string | undefined, update: CardUpdate): Promise<void> {
    if (update.kind !== 'security') return;
    const code = taskId ? await this.deps.codes.take(taskId) : null;
    if (code) await this.deps.api.finishCard(userId, code, finalLabel('done', update.line)).catch((err: unknown) => { this.deps.logger.info({ err: errName(err) }, 'wecom: alert card not updatable; the outcome is in the reply'); });
    for (const other of this.deps.securityUsers.filter((u) => u !== userId)) {
      await this.deps.api.sendText(other, clipBytes(`${update.title}\n${update.line}`, LIMITS.textBytes));
    }
  }

  private async send(userId: string, view: ReplyView): Promise<void> {
    const out = renderView(view);
    await this.deps.api.sendText(userId, out.text);
    if (out.card) await this.deps.api.sendCard(userId, out.card);
  }
}

/** The id WeCom's retries share: MsgId for a message, sender + time + what for an event. */
export function deliveryId(f: Fields): string | null {
  if (f.MsgType !== 'event') return f.MsgId ? `m:${f.MsgId}` : null;
  const what = [f.Event, f.ChangeType, f.UserID, f.TaskId, f.EventKey].map((x) => x ?? '').join('/');
  return f.FromUserName && f.CreateTime ? `e:${createHash('sha256').update(`${f.FromUserName}|${f.CreateTime}|${what}`).digest('base64url')}` : null;
}

/** From the delivery's id (WeCom's MsgIds are not personal, but stay out of the record). */
export const correlationIdOf = (deliveryKey: string): string => derivedCorrelationId('wc', deliveryKey);

function errName(err: unknown): string {
  if (err instanceof WeComApiError) return `${err.name}:${err.api}:${err.code}`;
  if (isCustosError(err)) return err.code;
  return err instanceof Error ? err.name : typeof err;
}
