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
import type { ConversationPort, Turn } from '../conversation/types.ts';
import type { ChatProfile } from '../core/identity.ts';
import { isCustosError } from '../core/errors.ts';
import type { View } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { WeComApiError, type WeComApi } from './api.ts';
import type { WeComOffboarding } from './offboard.ts';
import type { OnceGuard } from './once.ts';
import { parseButtonKey, renderView } from './render.ts';

export type Fields = Record<string, string>;

export interface WeComHandlerDeps {
  api: WeComApi;
  conversation: Conversation;
  offboarding: WeComOffboarding;
  events: OnceGuard;
  logger: Logger;
}

/** user/get errors that mean "no profile for you" rather than a failure: 60011 no privilege, 60111 no such user. */
const PROFILE_UNAVAILABLE = new Set([60011, 60111]);
/** update_user's Status 5: 退出企业 (the member left; an API deletion may arrive this way). */
const STATUS_LEFT = '5';

export class WeComHandlers {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly deps: WeComHandlerDeps) {}

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
      this.background(() => this.turn(f, id));
    } catch (err) {
      // Not done: let WeCom's retry try again.
      await this.deps.events.forget(id);
      throw err;
    }
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private background(work: () => Promise<void>): void {
    const p: Promise<void> = work().catch((err: unknown) => { this.deps.logger.error({ err: errName(err) }, 'wecom: background work failed'); })
      .finally(() => { this.pending.delete(p); });
    this.pending.add(p);
  }

  private async turn(f: Fields, id: string): Promise<void> {
    const userId = f.FromUserName ?? '';
    if (!userId) return;
    const turn: Turn = { platform: 'wecom', userId, conversationId: userId, correlationId: correlationIdOf(id), kind: 'dm' };
    if (f.MsgType === 'text') {
      await this.deps.conversation.text(turn, (f.Content ?? '').replace(/^\/customer\b\s*/i, ''), this.port(userId));
      return;
    }
    if (f.MsgType === 'event' && f.Event === 'template_card_event') {
      const key = parseButtonKey(f.EventKey ?? '');
      // A key custos never wrote is still a click: the layer refuses it and records the refusal.
      await this.deps.conversation.click(turn, key?.wireId ?? (f.EventKey ?? ''), key?.value ?? '', this.port(userId));
    }
  }

  private async contact(f: Fields): Promise<void> {
    const userId = f.UserID ?? '';
    const left = f.ChangeType === 'delete_user' || (f.ChangeType === 'update_user' && f.Status === STATUS_LEFT);
    if (userId && left) await this.deps.offboarding.userLeft(userId);
  }

  /** The layer's port for a one-to-one application chat with `userId`. */
  private port(userId: string): ConversationPort {
    const reply = (view: View) => this.send(userId, view);
    return {
      identity: 'chat',
      profile: (id) => this.profile(id),
      conversationKind: async () => 'dm',
      members: async () => [userId],
      replyPrivately: reply,
      replyInConversation: reply,
    };
  }

  private async send(userId: string, view: View): Promise<void> {
    const out = renderView(view);
    await this.deps.api.sendText(userId, out.text);
    if (out.card) await this.deps.api.sendCard(userId, out.card);
  }

  /** The contact API's e-mail (or 企业邮箱) for matching once; nothing when WeCom will not describe the user. */
  private async profile(userId: string): Promise<ChatProfile> {
    try {
      const u = await this.deps.api.user(userId);
      const email = u.email ?? u.bizMail;
      return email ? { email } : {};
    } catch (err) {
      if (err instanceof WeComApiError && PROFILE_UNAVAILABLE.has(err.code)) return {};
      throw err;
    }
  }
}

/** The id WeCom's retries share: MsgId for a message, sender + time + what for an event. */
export function deliveryId(f: Fields): string | null {
  if (f.MsgType !== 'event') return f.MsgId ? `m:${f.MsgId}` : null;
  const what = [f.Event, f.ChangeType, f.UserID, f.TaskId, f.EventKey].map((x) => x ?? '').join('/');
  return f.FromUserName && f.CreateTime ? `e:${createHash('sha256').update(`${f.FromUserName}|${f.CreateTime}|${what}`).digest('base64url')}` : null;
}

/** A short id for logs and audit, derived (WeCom's MsgIds are not personal, but stay out of the record). */
export function correlationIdOf(deliveryKey: string): string {
  return `wc-${createHash('sha256').update(deliveryKey).digest('base64url').slice(0, 22)}`;
}

function errName(err: unknown): string {
  if (err instanceof WeComApiError) return `${err.name}:${err.api}:${err.code}`;
  if (isCustosError(err)) return err.code;
  return err instanceof Error ? err.name : typeof err;
}
