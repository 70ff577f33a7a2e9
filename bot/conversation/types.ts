// The conversation layer's vocabulary, shared by every chat adapter (Slack, Lark, the playground, and
// the platforms to come). An adapter turns a platform payload into a Turn (who, where, which request)
// and an Intent (what they asked), hands both to the layer with a small ConversationPort (what only the
// platform can answer or do), and renders the neutral views the layer replies with. The layer itself
// never sees a platform payload, and an adapter never decides who may do what.
import type { AuditPlatform } from '../core/audit.ts';
import type { ChatProfile } from '../core/identity.ts';
import type { Locale } from '../core/messages.ts';
import type { View } from '../core/views.ts';
import type { ChannelKind } from '../../policies/types.ts';

/**
 * A platform's id as the audit log records it. One alias, so opening the set of platforms (issue 17,
 * item 2) changes this line and the audit schema, not every signature of the layer.
 */
export type PlatformId = AuditPlatform;

/** One incoming request: who sent it, from which conversation, and the id that follows it through logs and audit. */
export interface Turn {
  platform: PlatformId;
  /** The user's id on the platform (Slack user id, Lark open_id; the playground's picked employee id). */
  userId: string;
  /** The conversation it came from (channel, chat); '' when there is none (a bot menu). */
  conversationId: string;
  /** A short derived id, safe for the audit log (never a raw platform token). */
  correlationId: string;
  /** The conversation's kind when the payload already says it (a Lark p2p chat, the playground's pick). */
  kind?: ChannelKind;
  /** What to assume when the platform cannot tell the kind (default `shared`, the strictest). */
  kindIfUnseen?: ChannelKind;
}

/** What the user asked: words they typed, or a button / form on a card we rendered (see codec.ts). */
export type Intent =
  | { kind: 'text'; text: string }
  | { kind: 'action'; id: string; value: string; form?: unknown };

/**
 * Why a reply is sent, so each adapter can render it the way its platform shows such things (a Lark
 * card callback answers `answer` with a card, `done` with a success toast, `failure` with both).
 */
export type ReplyKind = 'answer' | 'notice' | 'done' | 'failure';

/**
 * Who is behind a platform user id. `chat`: a platform that verifies its users (bound id first, else
 * the profile's e-mail once, then bound — bot/core/identity.ts). `picked`: the playground, whose user
 * id is an employee id chosen on the page and is refused the same way when unknown or inactive.
 */
export type IdentityRule = 'chat' | 'picked';

/** What only the platform can answer or do. Small on purpose: a new platform implements this and a renderer. */
export interface ConversationPort {
  identity: IdentityRule;
  /** The platform's profile of a user (e-mail to match once, locale); `{}` when the platform will not say. */
  profile(userId: string): Promise<ChatProfile>;
  /** The kind of a conversation; may throw when the bot cannot see it (the layer then assumes the strictest). */
  conversationKind(conversationId: string): Promise<ChannelKind>;
  /** Every member's user id, bots included (the layer leaves out the asker and `botUserId`). */
  members(conversationId: string): Promise<string[]>;
  /** The app's own user, a member that reads nothing it did not post. */
  botUserId?: string;
  /** To the asker only (ephemeral, a DM, the callback's answer). */
  replyPrivately(view: View, kind: ReplyKind): Promise<void>;
  /** Into the conversation, for everyone in it (a shared card). */
  replyInConversation(view: View): Promise<void>;
}

/** How one turn went, for metrics and for adapters that answer synchronously (the playground). */
export interface Handled {
  /** The command's metric label (`lookup`, `help`, `usage`, `pick`, `share`, …). */
  command: string;
  locale: Locale;
  failed: boolean;
}
