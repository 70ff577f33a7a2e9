// Builds Slack requests the way Slack sends them: bodies (slash command form, Events API JSON,
// interactivity `payload=` form) signed with signature v0 over the exact raw bytes.
import { createHmac, randomBytes } from 'node:crypto';

export interface SignedRequest { body: string; headers: Record<string, string> }

export function signature(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs `rawBody`; `timestamp` defaults to now (seconds). */
export function sign(secret: string, rawBody: string, contentType: string, timestamp = nowSeconds(), extra: Record<string, string> = {}): SignedRequest {
  return {
    body: rawBody,
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature(secret, timestamp, rawBody),
      ...extra,
    },
  };
}

function id(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex').toUpperCase()}`;
}

export interface SlashCommandInput {
  text: string;
  userId: string;
  channelId: string;
  responseUrl: string;
  teamId?: string;
  command?: string;
  triggerId?: string;
  channelName?: string;
}

export function slashCommandBody(c: SlashCommandInput): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: c.teamId ?? 'T0TEST',
    team_domain: 'fake',
    channel_id: c.channelId,
    channel_name: c.channelName ?? (c.channelId.startsWith('D') ? 'directmessage' : 'general'),
    user_id: c.userId,
    user_name: c.userId.toLowerCase(),
    command: c.command ?? '/customer',
    text: c.text,
    api_app_id: 'A0TEST',
    is_enterprise_install: 'false',
    response_url: c.responseUrl,
    trigger_id: c.triggerId ?? `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`,
  }).toString();
}

export interface EventInput {
  type: 'app_mention' | 'message';
  userId: string;
  channelId: string;
  text: string;
  eventId?: string;
  teamId?: string;
  channelType?: 'im' | 'channel' | 'group';
}

export function eventBody(e: EventInput): string {
  const ts = `${nowSeconds()}.${String(randomBytes(3).readUIntBE(0, 3)).padStart(6, '0')}`;
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: e.teamId ?? 'T0TEST',
    api_app_id: 'A0TEST',
    type: 'event_callback',
    event_id: e.eventId ?? id('Ev'),
    event_time: nowSeconds(),
    authorizations: [{ team_id: e.teamId ?? 'T0TEST', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
    event: {
      type: e.type,
      user: e.userId,
      text: e.text,
      ts,
      channel: e.channelId,
      event_ts: ts,
      ...(e.type === 'message' ? { channel_type: e.channelType ?? 'im' } : {}),
    },
  });
}

export interface BlockActionInput {
  userId: string;
  channelId: string;
  actionId: string;
  value: string;
  responseUrl: string;
  blockId?: string;
  teamId?: string;
}

export function blockActionBody(a: BlockActionInput): string {
  const payload = {
    type: 'block_actions',
    team: { id: a.teamId ?? 'T0TEST', domain: 'fake' },
    user: { id: a.userId, username: a.userId.toLowerCase(), team_id: a.teamId ?? 'T0TEST' },
    api_app_id: 'A0TEST',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: a.channelId, is_ephemeral: true },
    trigger_id: `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`,
    channel: { id: a.channelId, name: 'general' },
    response_url: a.responseUrl,
    actions: [{
      type: 'button', action_id: a.actionId, block_id: a.blockId ?? 'card_actions', value: a.value,
      text: { type: 'plain_text', text: 'x' }, action_ts: `${nowSeconds()}.000200`,
    }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export const FORM = 'application/x-www-form-urlencoded';
export const JSON_TYPE = 'application/json';

/** POSTs a signed request to the bot; resolves with the status and the response text. */
export async function post(url: string, req: SignedRequest): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: req.headers, body: req.body });
  return { status: res.status, text: await res.text() };
}
