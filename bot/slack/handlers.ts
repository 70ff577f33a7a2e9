// The Slack listeners: `/customer` and `/audit`, @mentions, DMs, every button on our cards and both
// modals. Each acknowledges first and then works, replying through the Web API or the response_url
// (Slack's 3-second rule). Identity, locale, channel kind, audience, dispatch and refusals live in the
// conversation layer (bot/conversation); this file turns Slack payloads into turns and gives the layer
// a port: users.info, conversations.info / members, how to reply, open a modal and update a card here.
import type { App, types, webApi } from '@slack/bolt';
import type { Conversation } from '../conversation/layer.ts';
import type { CardUpdate, ConversationPort, FormView, ReplyView, Turn } from '../conversation/types.ts';
import type { Logger } from '../logger.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { renderDenyForm, renderRequestForm } from './approval-blocks.ts';
import { renderAuditView } from './audit-blocks.ts';
import { escapeMrkdwn, renderView, type SlackMessage } from './blocks.ts';
import { registerSlackForms } from './forms.ts';
import { slackProfile } from './identity.ts';
import { derivedCorrelationId } from '../runtime/correlation.ts';
import type { PendingAnswers, ReplyGuard } from '../runtime/pending-answers.ts';
import type { PendingHolder } from './pending.ts';
import { postToResponseUrl } from './response-url.ts';

type WebClient = webApi.WebClient;
type KnownBlock = types.KnownBlock;

export interface SlackHandlerDeps {
  /** Every turn goes through the one conversation layer (identifies, records refusals, dispatches). */
  conversation: Conversation;
  /** The pending-answer ledger's runner (bot/runtime/pending-answers.ts); absent in tests that need none. */
  pending?: PendingAnswers;
  logger?: Logger;
}

/** How one request is answered: to the asker (ephemeral, the response_url) and into its channel; where its modals open. */
export interface Reach {
  client: WebClient;
  channelId: string;
  reply: (message: SlackMessage) => Promise<unknown>;
  botUserId?: string;
  triggerId?: string;
  /** The clicked card's response_url: a Deny modal's late outcome is told there. */
  responseUrl?: string;
  /** Replaces the clicked card in the channel (a security alert acted on). */
  replace?: (message: SlackMessage) => Promise<unknown>;
  /** A pending answer's replies are sent only while this replica holds it (pending-answers.ts). */
  guard?: ReplyGuard;
}

/** A slash command's fields an answer needs (also what the pending-answer ledger keeps, sealed). */
export interface SlashCommand {
  command: string;
  userId: string;
  channelId: string;
  channelName?: string;
  triggerId: string;
  responseUrl: string;
  text: string;
}

/** Answers `/customer` or `/audit` through its response_url, ephemeral: by this bot on arrival, or by another replica finishing it. */
export async function runSlackCommand(conversation: Conversation, c: SlashCommand, client: WebClient, guard?: ReplyGuard): Promise<void> {
  const reply = (m: SlackMessage) => postToResponseUrl(c.responseUrl, { response_type: 'ephemeral', ...m });
  // trigger_id and response_url: `/audit report …` and `/customer request …` open a form (a modal).
  const reach: Reach = { client, channelId: c.channelId, triggerId: c.triggerId, reply, ...(guard ? { guard } : {}) };
  const turn = slackTurn(c.userId, c.channelId, c.triggerId, c.channelName, c.responseUrl);
  if (c.command === '/audit') await conversation.audit(turn, c.text, slackPort(reach));
  else await conversation.text(turn, c.text, slackPort(reach));
}

/** Buttons whose answer replaces the card they are on (the pick list, an audit page); every other answer is a new ephemeral. */
const REPLACING = /^(customer_pick|audit_older|audit_newer)$/;

export function registerSlackHandlers(app: App, deps: SlackHandlerDeps): void {
  const { conversation } = deps;

  // Both commands answer by response_url after the ack: through the pending-answer ledger when the
  // middleware opened an entry for them (pending.ts), so another replica finishes them if this one dies.
  // Registered by name, one call each (test/slack-manifest checks the manifest lists what is registered).
  const answerCommand = (name: '/customer' | '/audit'): Parameters<App['command']>[1] => async ({ ack, command, client, context }) => {
    await ack();
    const slash: SlashCommand = {
      command: name, userId: command.user_id, channelId: command.channel_id, triggerId: command.trigger_id,
      responseUrl: command.response_url, text: command.text, ...(command.channel_name ? { channelName: command.channel_name } : {}),
    };
    const holder = (context as { pendingAnswer?: PendingHolder }).pendingAnswer;
    if (!holder || !deps.pending) return runSlackCommand(conversation, slash, client);
    holder.taken = true;
    await deps.pending.answer(holder.lease, (guard) => runSlackCommand(conversation, slash, client, guard));
  };
  app.command('/customer', answerCommand('/customer'));
  app.command('/audit', answerCommand('/audit'));

  app.event('app_mention', async ({ event, client, body }) => {
    // A mention inside a DM arrives as message.im as well; answer it there only.
    if (!event.user || event.channel.startsWith('D')) return;
    const userId = event.user;
    const reach: Reach = { client, channelId: event.channel, reply: (m) => client.chat.postEphemeral({ channel: event.channel, user: userId, ...m }) };
    await conversation.text(slackTurn(userId, event.channel, String((body as { event_id?: string }).event_id ?? event.ts)), stripMentions(event.text), slackPort(reach));
  });

  app.message(async ({ message, client, body }) => {
    if (message.channel_type !== 'im' || message.subtype !== undefined || !('user' in message) || !message.user) return;
    if ('bot_id' in message && message.bot_id) return;
    const reach: Reach = { client, channelId: message.channel, reply: (m) => client.chat.postMessage({ channel: message.channel, ...m }) };
    const turn = slackTurn(message.user, message.channel, String((body as { event_id?: string }).event_id ?? message.ts), 'directmessage');
    await conversation.text(turn, stripMentions(message.text ?? ''), slackPort(reach));
  });

  // Every button on our cards (lookup, approval, review, security alert, audit page): the layer decodes
  // the id and value (card buttons carry `<action>:<index>` ids, unique within the card's actions block).
  app.action({ type: 'block_actions', action_id: /^[a-z_]{1,40}(:\d{1,3})?$/ }, async ({ ack, body, action, client, context }) => {
    await ack();
    if (action.type !== 'button') return;
    const channelId = body.channel?.id ?? body.container?.channel_id ?? '';
    const replacing = REPLACING.test(action.action_id);
    const original = ((body as { message?: { blocks?: KnownBlock[] } }).message?.blocks ?? []).filter((b) => b.type !== 'actions');
    const reach: Reach = {
      client, channelId, triggerId: body.trigger_id, responseUrl: body.response_url,
      ...(context.botUserId ? { botUserId: context.botUserId } : {}),
      reply: (m) => postToResponseUrl(body.response_url, { response_type: 'ephemeral', replace_original: replacing, ...m }),
      // The card in the channel is updated in place: the outcome replaces the buttons.
      replace: (m) => postToResponseUrl(body.response_url, { replace_original: true, text: m.text, blocks: [...original, ...m.blocks] }),
    };
    const turn = slackTurn(body.user.id, channelId, body.trigger_id, channelId.startsWith('D') ? 'directmessage' : undefined, body.response_url);
    await conversation.click(turn, action.action_id, action.value ?? '', slackPort(reach));
  });

  registerSlackForms(app, conversation, deps.logger);
}

/**
 * `channelHint`: a slash command's channel_name ("directmessage", "privategroup"), the only word on a
 * channel the bot cannot see. `responseUrl`: the card or command a request form is opened from.
 */
export function slackTurn(userId: string, channelId: string, slackId: string, channelHint?: string, responseUrl?: string): Turn {
  return {
    platform: 'slack', userId, conversationId: channelId, correlationId: correlationIdOf(slackId),
    // The bot cannot see the conversation (not a member): the strictest kind, unless Slack told us it
    // is a direct message, where replies are private anyway.
    kindIfUnseen: channelHint === 'directmessage' ? 'dm' : 'shared',
    origin: { channel: channelId, ...(responseUrl ? { responseUrl } : {}) },
  };
}

/** What only Slack can answer or do, for one request. */
export function slackPort(reach: Reach): ConversationPort {
  const { client } = reach;
  const guard: ReplyGuard = reach.guard ?? ((send) => send());
  let replaced = false;
  return {
    identity: 'chat',
    profile: (userId) => slackProfile(client, userId),
    conversationKind: async (channel) => kindOf((await client.conversations.info({ channel })).channel),
    members: async (channel) => {
      const members: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.conversations.members({ channel, limit: 200, ...(cursor ? { cursor } : {}) });
        members.push(...(page.members ?? []));
        cursor = page.response_metadata?.next_cursor || undefined;
      } while (cursor);
      return members;
    },
    ...(reach.botUserId ? { botUserId: reach.botUserId } : {}),
    // Once the clicked card itself says the outcome, the same words are not sent again beside it.
    replyPrivately: async (view, kind) => { if (!(replaced && kind === 'done')) await guard(() => reach.reply(renderReply(view))); },
    replyInConversation: async (view) => { await guard(() => client.chat.postMessage({ channel: reach.channelId, ...renderView(view) })); },
    openForm: async (form) => {
      if (!reach.triggerId) throw new Error('no trigger_id to open a modal with');
      await client.views.open({ trigger_id: reach.triggerId, view: renderForm(form, reach.responseUrl) });
    },
    updateCard: async (update) => {
      const message = updateMessage(update);
      if (!message || !reach.replace) return;
      await reach.replace(message);
      replaced = true;
    },
  };
}

function renderReply(view: ReplyView): SlackMessage {
  return view.kind === 'audit-table' ? renderAuditView(view) : renderView(view);
}

/** A request modal; the Deny modal also carries the card it was opened from, to tell a late outcome there. */
function renderForm(form: FormView, responseUrl: string | undefined): ReturnType<typeof renderRequestForm> {
  if (form.kind === 'request') return renderRequestForm(form.form);
  return renderDenyForm({ ...form.form, metadata: JSON.stringify({ r: form.form.metadata, ...(responseUrl ? { u: responseUrl } : {}) }) });
}

/** An alert acted on: its buttons give way to the outcome. Review cards are updated by the service's notifier. */
function updateMessage(update: CardUpdate): SlackMessage | null {
  if (update.kind !== 'security') return null;
  return { text: update.line, blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(update.line) }] }] };
}

export function kindOf(c: { is_im?: boolean; is_ext_shared?: boolean; is_private?: boolean } | undefined): ChannelKind {
  return c?.is_im ? 'dm' : c?.is_ext_shared ? 'shared' : c?.is_private ? 'private' : 'public';
}

export function stripMentions(text: string): string {
  return text.replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, ' ').trim();
}

/** From Slack's trigger_id / event_id (trigger ids are long digit runs). */
export const correlationIdOf = (slackId: string): string => derivedCorrelationId('sl', slackId);
