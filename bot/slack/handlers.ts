// The Slack listeners: `/customer`, @mentions, DMs, and the lookup card's Pick and Share buttons. Each
// acknowledges first and then works, replying through the Web API or the response_url (Slack's
// 3-second rule). Identity, locale, channel kind, audience, dispatch and refusals live in the
// conversation layer (bot/conversation); this file turns Slack payloads into turns and gives the layer
// a port: users.info, conversations.info / members, and how to reply here.
import { createHash } from 'node:crypto';
import type { App, webApi } from '@slack/bolt';
import type { Conversation } from '../conversation/layer.ts';
import type { ConversationPort, Turn } from '../conversation/types.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { ACTION_PICK, ACTION_SHARE, renderView, type SlackMessage } from './blocks.ts';
import { slackProfile } from './identity.ts';

type WebClient = webApi.WebClient;

export interface SlackHandlerDeps {
  /** Every turn goes through the one conversation layer (identifies, records refusals, dispatches). */
  conversation: Conversation;
}

/** How one request is answered: to the asker (ephemeral, the response_url) and into its channel. */
interface Reach { client: WebClient; channelId: string; reply: (message: SlackMessage) => Promise<unknown>; botUserId?: string }

export function registerSlackHandlers(app: App, deps: SlackHandlerDeps): void {
  const { conversation } = deps;

  app.command('/customer', async ({ ack, command, respond, client }) => {
    await ack();
    const reach: Reach = { client, channelId: command.channel_id, reply: (m) => respond({ response_type: 'ephemeral', ...m }) };
    await conversation.text(slackTurn(command.user_id, command.channel_id, command.trigger_id, command.channel_name), command.text, slackPort(reach));
  });

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

  app.action({ type: 'block_actions', action_id: ACTION_PICK }, async ({ ack, body, action, respond, client }) => {
    await ack();
    const channelId = body.channel?.id ?? body.container?.channel_id;
    if (!channelId || action.type !== 'button' || !action.value) return;
    const reach: Reach = { client, channelId, reply: (m) => respond({ response_type: 'ephemeral', replace_original: true, ...m }) };
    await conversation.click(slackTurn(body.user.id, channelId, body.trigger_id), ACTION_PICK, action.value, slackPort(reach));
  });

  app.action({ type: 'block_actions', action_id: ACTION_SHARE }, async ({ ack, body, action, respond, client, context }) => {
    await ack();
    const channelId = body.channel?.id ?? body.container?.channel_id;
    if (!channelId || action.type !== 'button' || !action.value) return;
    const reach: Reach = {
      client, channelId, ...(context.botUserId ? { botUserId: context.botUserId } : {}),
      reply: (m) => respond({ response_type: 'ephemeral', replace_original: false, ...m }),
    };
    await conversation.click(slackTurn(body.user.id, channelId, body.trigger_id), ACTION_SHARE, action.value, slackPort(reach));
  });
}

/** `channelHint`: a slash command's channel_name ("directmessage", "privategroup"), the only word on a channel the bot cannot see. */
export function slackTurn(userId: string, channelId: string, slackId: string, channelHint?: string): Turn {
  return {
    platform: 'slack', userId, conversationId: channelId, correlationId: correlationIdOf(slackId),
    // The bot cannot see the conversation (not a member): the strictest kind, unless Slack told us it
    // is a direct message, where replies are private anyway.
    kindIfUnseen: channelHint === 'directmessage' ? 'dm' : 'shared',
  };
}

/** What only Slack can answer or do, for one request. */
export function slackPort(reach: Reach): ConversationPort {
  const { client } = reach;
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
    replyPrivately: async (view) => { await reach.reply(renderView(view)); },
    replyInConversation: async (view) => { await client.chat.postMessage({ channel: reach.channelId, ...renderView(view) }); },
  };
}

export function kindOf(c: { is_im?: boolean; is_ext_shared?: boolean; is_private?: boolean } | undefined): ChannelKind {
  return c?.is_im ? 'dm' : c?.is_ext_shared ? 'shared' : c?.is_private ? 'private' : 'public';
}

export function stripMentions(text: string): string {
  return text.replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, ' ').trim();
}

/**
 * A short stable id derived from Slack's trigger_id / event_id. Not the raw id: trigger ids are long
 * digit runs, which the audit log's PII guard (rightly) cannot tell from a card number.
 */
export function correlationIdOf(slackId: string): string {
  return `sl-${createHash('sha256').update(slackId).digest('base64url').slice(0, 22)}`;
}
