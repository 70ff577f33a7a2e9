// DingTalk robot messages into the conversation layer (bot/conversation): a 1:1 message or an
// @mention in a group becomes a Turn (the sender's DingTalk userid, the conversation, a correlation id
// derived from msgId) and its text; the layer identifies, authorises, dispatches and records refusals,
// and replies through this file's port as interactive cards (cards.ts). A verified card click
// (card-callback.ts) becomes a click or a form submission on the same layer; its port updates the
// clicked card in place (a settled review, an alert acted on, a submitted form).
//  - Each msgId is handled once: DingTalk redelivers a message it thinks failed, and a redelivery
//    must not answer twice or audit twice (`events`, Redis SET NX).
//  - The asker's own answer always goes to their 1:1 robot chat, never into a group.
import { z } from 'zod';
import { submittedForm } from '../conversation/card-parts.ts';
import type { Conversation } from '../conversation/layer.ts';
import type { ConversationPort, ReplyKind, ReplyView, Turn } from '../conversation/types.ts';
import { contactProfile } from '../core/identity.ts';
import { noticeView, type View } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import { BackgroundWork } from '../runtime/background.ts';
import { derivedCorrelationId } from '../runtime/correlation.ts';
import type { OnceGuard } from '../runtime/once.ts';
import type { DingTalkApi } from './api.ts';
import type { CardClick } from './card-callback.ts';
import type { DingTalkCards } from './card-delivery.ts';
import { renderForm, renderUpdate, renderView } from './cards.ts';
import { textWithMentionIds } from './mentions.ts';

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
  /** Who the message @mentions (mentions.ts): the robot itself (its chatbotUserId) included; staffId only for members. */
  atUsers: z.array(z.object({ dingtalkId: z.string().max(200).optional(), staffId: z.string().max(100).optional() })).max(100).optional(),
  chatbotUserId: z.string().max(200).optional(),
});
export type RobotMessage = z.infer<typeof RobotMessage>;

export interface DingTalkHandlerDeps {
  api: DingTalkApi;
  cards: DingTalkCards;
  conversation: Conversation;
  events: OnceGuard;
  logger: Logger;
  /** Observes every handled message (tests count them). */
  onHandled?: (msgId: string) => void;
}

export class DingTalkHandlers {
  private readonly work: BackgroundWork;

  constructor(private readonly deps: DingTalkHandlerDeps) {
    this.work = new BackgroundWork(deps.logger, 'dingtalk');
  }

  /** Takes a verified robot message; the work continues after DingTalk has its answer. */
  async message(m: RobotMessage): Promise<void> {
    if (!(await this.deps.events.first(`msg:${m.msgId}`))) {
      this.deps.logger.info({ type: 'robot_message' }, 'dingtalk: duplicate delivery dropped');
      return;
    }
    this.background(m.msgId, () => this.onMessage(m));
  }

  /** Takes a verified, first-delivered card click (card-callback.ts); the work continues after DingTalk has its answer. */
  click(c: CardClick): void {
    this.background(c.correlationId, () => this.onClick(c), false);
  }

  /** Waits for work started after a callback was answered (shutdown, tests). */
  drain(): Promise<void> {
    return this.work.drain();
  }

  /** A message that failed is forgotten, so DingTalk's redelivery is handled; a click body is not taken twice. */
  private background(msgId: string, work: () => Promise<void>, retryable = true): void {
    const forget = retryable ? () => this.deps.events.forget(`msg:${msgId}`) : undefined;
    void this.work.run(async () => { await work(); this.deps.onHandled?.(msgId); }, forget);
  }

  private async onMessage(m: RobotMessage): Promise<void> {
    const userId = m.senderStaffId;
    // Only text is a command; a user outside the organisation has no staff id and cannot be identified.
    if (!userId || m.msgtype !== 'text' || !m.text) return;
    const turn = turnIn(m.conversationType === '2' ? 'group' : 'dm', m.conversationId, userId, correlationIdOf(m.msgId));
    // DingTalk takes the robot's own @ out of the text; other people's stay, as userids (`audit by @…`).
    // An audit table's pages and Export results are buttons on its card.
    const text = await textWithMentionIds({ text: m.text.content.trim(), atUsers: m.atUsers, chatbotUserId: m.chatbotUserId }, this.deps.api);
    await this.deps.conversation.typed(turn, text, this.port(turn));
  }

  private async onClick(c: CardClick): Promise<void> {
    // A group card's click acts in its group; so does a 1:1 card answering an @mention there (Share posts there).
    const group = c.space.startsWith('group:') ? c.space.slice('group:'.length) : c.group;
    const turn: Turn = { ...turnIn(group ? 'group' : 'dm', group ?? '', c.userId, c.correlationId), origin: { channel: c.outTrackId } };
    const port = this.clickPort(turn, c);
    // A form's inputs go as DingTalk sent them: the form's schema reads its numbers and lists (codec.ts).
    const form = submittedForm(c.action);
    if (form) await this.deps.conversation.submit(turn, form, c.value, c.inputs, port);
    else await this.deps.conversation.click(turn, c.action, c.value, port);
  }

  /** The message port, plus what a click can do: open a form card, say a form's problem, update the clicked card. */
  private clickPort(turn: Turn, c: CardClick): ConversationPort {
    const cards = this.deps.cards;
    const own = { kind: 'robot' as const, userId: c.userId };
    const form = submittedForm(c.action) !== null;
    const base = this.port(turn);
    return {
      ...base,
      // A submitted form is replaced by what happened, so it cannot be sent twice; anything else is a new card.
      replyPrivately: async (view: ReplyView, kind: ReplyKind) => {
        if (form && kind !== 'failure') await cards.update(c.outTrackId, c.space, renderView(view));
        else await cards.deliver(own, renderView(view), c.group);
      },
      // The form card stays as it was (its inputs still there); the problem arrives beside it.
      formProblem: async (p) => { await cards.deliver(own, renderView(noticeView(p.text, 'refusal'))); },
      updateCard: async (u) => { await cards.update(c.outTrackId, c.space, renderUpdate(u)); },
    };
  }

  private port(turn: Turn): ConversationPort {
    const api = this.deps.api;
    const cards = this.deps.cards;
    return {
      identity: 'chat',
      // The contact API's e-mail; DingTalk answers null for a user it will not describe (api.ts).
      profile: (userId) => contactProfile(() => api.user(userId)),
      // A 1:1 chat is known from the payload. An internal group (members listed) is `public`: DingTalk tells
      // whether a group is searchable only for groups the app created (README: DingTalk), so any colleague
      // may join it. Any other group (cross-organisation, unreadable) fails here: the layer assumes `shared`.
      conversationKind: async (cid) => { await api.innerGroupMembers(cid); return 'public'; },
      members: (cid) => api.innerGroupMembers(cid),
      replyPrivately: async (view: ReplyView, _kind: ReplyKind) => {
        await cards.deliver({ kind: 'robot', userId: turn.userId }, renderView(view), turn.kind === 'dm' ? undefined : turn.conversationId);
      },
      // A form (typed `export …`, or Request access / Deny clicked) is a card with inputs in the user's robot chat.
      openForm: async (f) => { await cards.deliver({ kind: 'robot', userId: turn.userId }, renderForm(f)); },
      replyInConversation: async (view: View) => { await cards.deliver({ kind: 'group', conversationId: turn.conversationId }, renderView(view)); },
    };
  }
}

/** A group's kind is the layer's to learn (`shared` until it has); a 1:1 robot chat is known from the payload. */
function turnIn(where: 'group' | 'dm', conversationId: string, userId: string, correlationId: string): Turn {
  return { platform: 'dingtalk', userId, conversationId, correlationId, ...(where === 'group' ? { kindIfUnseen: 'shared' as const } : { kind: 'dm' as const }) };
}

/** From DingTalk's message id or a click's body. */
export const correlationIdOf = (msgId: string | Buffer): string => derivedCorrelationId('dt', msgId, 16);
