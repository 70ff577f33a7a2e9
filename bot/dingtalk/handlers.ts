// DingTalk robot messages into the conversation layer (bot/conversation): a 1:1 message or an
// @mention in a group becomes a Turn (the sender's DingTalk userid, the conversation, a correlation id
// derived from msgId) and its text; the layer identifies, authorises, dispatches and records refusals,
// and replies through this file's port as interactive cards (cards.ts).
//  - Each msgId is handled once: DingTalk redelivers a message it thinks failed, and a redelivery
//    must not answer twice or audit twice (`events`, Redis SET NX).
//  - The asker's own answer always goes to their 1:1 robot chat, never into a group.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Conversation } from '../conversation/layer.ts';
import type { ConversationPort, ReplyKind, Turn } from '../conversation/types.ts';
import type { ChatProfile } from '../core/identity.ts';
import type { View } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import type { DingTalkApi } from './api.ts';
import { renderView } from './cards.ts';

/** Once-only keys (bot/lark/guards.ts has the same contract; kept local so adapters import no adapter). */
export interface OnceGuard { first(key: string): Promise<boolean>; forget(key: string): Promise<void> }

/** The fields of a robot message custos reads; everything else DingTalk sends is ignored. */
export const RobotMessage = z.object({
  msgId: z.string().min(1).max(200),
  msgtype: z.string().max(40),
  conversationType: z.enum(['1', '2']),
  conversationId: z.string().min(1).max(200),
  senderStaffId: z.string().min(1).max(100).optional(),
  robotCode: z.string().max(100).optional(),
  chatbotCorpId: z.string().max(100).optional(),
  text: z.object({ content: z.string().max(5000) }).optional(),
});
export type RobotMessage = z.infer<typeof RobotMessage>;

export interface DingTalkHandlerDeps {
  api: DingTalkApi;
  conversation: Conversation;
  events: OnceGuard;
  logger: Logger;
  /** Observes every handled message (tests count them). */
  onHandled?: (msgId: string) => void;
}

export class DingTalkHandlers {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly deps: DingTalkHandlerDeps) {}

  /** Takes a verified robot message; the work continues after DingTalk has its answer. */
  async message(m: RobotMessage): Promise<void> {
    if (!(await this.deps.events.first(`msg:${m.msgId}`))) {
      this.deps.logger.info({ type: 'robot_message' }, 'dingtalk: duplicate delivery dropped');
      return;
    }
    this.background(m.msgId, () => this.onMessage(m));
  }

  /** Waits for work started after a callback was answered (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private background(msgId: string, work: () => Promise<void>): void {
    const p: Promise<void> = work().then(() => this.deps.onHandled?.(msgId), async (err: unknown) => {
      this.deps.logger.error({ err: err instanceof Error ? err.name : typeof err }, 'dingtalk: message handling failed');
      await this.deps.events.forget(`msg:${msgId}`);
    }).finally(() => { this.pending.delete(p); });
    this.pending.add(p);
  }

  private async onMessage(m: RobotMessage): Promise<void> {
    const userId = m.senderStaffId;
    // Only text is a command; a user outside the organisation has no staff id and cannot be identified.
    if (!userId || m.msgtype !== 'text' || !m.text) return;
    const group = m.conversationType === '2';
    const turn: Turn = {
      platform: 'dingtalk', userId, conversationId: m.conversationId, correlationId: correlationIdOf(m.msgId),
      ...(group ? { kindIfUnseen: 'shared' as const } : { kind: 'dm' as const }),
    };
    // Slack users type `/customer …`; the same words work here. DingTalk strips the @mention itself.
    const text = m.text.content.trim().replace(/^\/customer\b\s*/i, '');
    await this.deps.conversation.text(turn, text, this.port(turn));
  }

  private port(turn: Turn): ConversationPort {
    const api = this.deps.api;
    return {
      identity: 'chat',
      profile: (userId) => profileOf(api, userId),
      // A 1:1 chat is known from the payload. A group is `private` when DingTalk lists its members as an
      // internal group (invitation-only, inside the organisation); any other group (cross-organisation,
      // or one the app may not read) fails here and the layer assumes the strictest kind, `shared`.
      conversationKind: async (cid) => { await api.innerGroupMembers(cid); return 'private'; },
      members: (cid) => api.innerGroupMembers(cid),
      replyPrivately: async (view: View, _kind: ReplyKind) => { await api.deliverCard({ kind: 'robot', userId: turn.userId }, renderView(view)); },
      replyInConversation: async (view: View) => { await api.deliverCard({ kind: 'group', conversationId: turn.conversationId }, renderView(view)); },
    };
  }
}

/** The contact API's user as a profile: the e-mail to match once; `{}` for a user DingTalk will not describe. */
async function profileOf(api: DingTalkApi, userId: string): Promise<ChatProfile> {
  const email = await api.userEmail(userId);
  return email ? { email } : {};
}

/** A short id for logs and the audit record, derived from DingTalk's message id (never the id itself). */
export function correlationIdOf(msgId: string): string {
  return `dt-${createHash('sha256').update(msgId).digest('base64url').slice(0, 16)}`;
}
