// The conversation layer's vocabulary, shared by every chat adapter (Slack, Lark, the playground, and
// the platforms to come). An adapter turns a platform payload into a Turn (who, where, which request)
// and an Intent (what they asked), hands both to the layer with a small ConversationPort (what only the
// platform can answer or do), and renders the neutral views the layer replies with. The layer itself
// never sees a platform payload, and an adapter never decides who may do what.
import type { AuditPlatform } from '../core/audit.ts';
import type { AuditTableView } from '../core/audit-query-views.ts';
import type { ChatProfile } from '../core/identity.ts';
import type { Locale } from '../core/messages.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { View } from '../core/views.ts';
import type { ApprovalView, DenyForm, RequestForm } from '../core/views-approval.ts';
import type { ChannelKind } from '../../policies/types.ts';

/** A platform's id: an open string (bot/core/platform-id.ts); the registry (bot/platforms.ts) knows the set. */
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
  /**
   * The card a request form is opened from, so its outcome (a reveal) can update it later: Slack's
   * channel and response_url, Lark's message id. Carried in the form's metadata, never audited.
   */
  origin?: { channel: string; responseUrl?: string };
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

/** What the layer replies with: the core's views, and an audit table (`/audit`, its pages). */
export type ReplyView = View | AuditTableView;

/** A form to open for the asker: a request form, or the Deny reason form with the approver's card it belongs to. */
export type FormView = { kind: 'request'; form: RequestForm } | { kind: 'deny'; form: DenyForm; card: ApprovalView };

/**
 * A submitted form the service refused: the sentence, the input it belongs to, and (when the asker can
 * fix it) the form again to show with the problem on top. Platforms with modals show it on the form.
 */
export interface FormProblem { input: 'purpose' | 'duration' | 'reason'; text: string; retry?: FormView }

/** A clicked card that changes for everyone who sees it: a security alert acted on, a review settled. */
export type CardUpdate = { kind: 'security'; title: string; line: string } | { kind: 'review'; view: ReviewCardView };

/**
 * Sentences a platform says its own way (message keys): the playground names its inbox where a chat
 * names the DM. Each falls back to the layer's (`conversation.*`, messages.ts).
 */
export interface PortSentences { submitted?: string; denied?: string }

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
  replyPrivately(view: ReplyView, kind: ReplyKind): Promise<void>;
  /** Into the conversation, for everyone in it (a shared card). */
  replyInConversation(view: View): Promise<void>;
  /** Opens a form for the asker (a Slack modal, a Lark form card, the playground's inline form); without it forms are refused. */
  openForm?(form: FormView): Promise<void>;
  /** A submitted form's problem, where the platform can show it on the form; without it, a private reply. */
  formProblem?(problem: FormProblem): Promise<void>;
  /** Replaces the clicked card for everyone; without it, the outcome is a private reply only. */
  updateCard?(update: CardUpdate): Promise<void>;
  sentences?: PortSentences;
}

/** How one turn went, for metrics and for adapters that answer synchronously (the playground). */
export interface Handled {
  /** The command's metric label (`lookup`, `help`, `usage`, `pick`, `share`, …). */
  command: string;
  locale: Locale;
  failed: boolean;
}
