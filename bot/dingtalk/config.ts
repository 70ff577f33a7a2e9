// The DingTalk section of the configuration (DINGTALK_*), parsed with zod and reported with every
// problem at once, as bot/config.ts does for the rest. Its own module so that adding the platform
// touches no shared schema; `custos start` runs the adapter when DINGTALK_APP_KEY is set.
import { z } from 'zod';
import { httpUrl, parseEnvSection, portNumber } from '../config-env.ts';

export interface DingTalkSettings {
  /** `http`: DingTalk POSTs messages and clicks to DINGTALK_HTTP_PORT; `stream`: custos dials DingTalk's Stream gateway (stream.ts). */
  mode: 'http' | 'stream';
  /** The app's AppKey (Client ID); with the secret it buys the access token. */
  appKey: string;
  /** The app's AppSecret: signs every callback (`sign` header) and buys the access token. */
  appSecret: string;
  /** The robot's code (an internal app's robot has its AppKey as code). */
  robotCode: string;
  /** The organisation (corpId) the robot belongs to; callbacks naming another are refused. */
  corpId: string | undefined;
  /** The interactive card template (card builder) every reply is rendered into; see README: DingTalk. */
  cardTemplateId: string;
  /** https://api.dingtalk.com (tokens, cards) and https://oapi.dingtalk.com (contacts), or the tests' fake. */
  apiUrl: string;
  oapiUrl: string;
  httpPort: number;
  /** The `token` in the card callback URL registered with DingTalk; unset: /dingtalk/card is off and cards carry no buttons that work. */
  cardCallbackToken: string | undefined;
  /** The callbackRouteKey the card callback URL was registered under; every card names it. */
  cardRouteKey: string | undefined;
  /** The group (openConversationId) security alerts and notices go to; unset: they are logged only. */
  securityConversationId: string | undefined;
  /** The event subscription's token and EncodingAESKey (offboarding on `user_leave_org`); unset: /dingtalk/events is off. */
  events: { token: string; aesKey: string } | undefined;
}

/** Whether plain `custos start` runs the DingTalk adapter (decided without loading it). */
export function dingtalkConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.DINGTALK_APP_KEY);
}

const SECRETS = ['DINGTALK_APP_SECRET', 'DINGTALK_EVENT_TOKEN', 'DINGTALK_EVENT_AES_KEY', 'DINGTALK_CARD_CALLBACK_TOKEN'];

/** The event pair goes together; the card callback URL's settings are HTTP mode's. */
function together(values: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if ((values.DINGTALK_EVENT_TOKEN === undefined) !== (values.DINGTALK_EVENT_AES_KEY === undefined)) {
    problems.push('DINGTALK_EVENT_TOKEN and DINGTALK_EVENT_AES_KEY go together; set both (offboarding events) or neither');
  }
  if (values.DINGTALK_MODE === 'stream') {
    for (const name of ['DINGTALK_CARD_CALLBACK_TOKEN', 'DINGTALK_CARD_ROUTE_KEY']) {
      if (values[name] !== undefined) problems.push(`${name} is for HTTP mode (the card callback URL); in stream mode card clicks arrive on the stream: unset it`);
    }
  }
  return problems;
}

const schema = z.object({
  DINGTALK_MODE: z.enum(['http', 'stream'], { error: 'DINGTALK_MODE must be http (DingTalk POSTs to custos) or stream (custos connects to DingTalk; no public URL)' }).default('http'),
  DINGTALK_APP_KEY: z.string({ error: 'DINGTALK_APP_KEY is required; copy the AppKey (Client ID) from the app\'s Credentials page' })
    .regex(/^[A-Za-z0-9_-]{8,64}$/, 'DINGTALK_APP_KEY must be the AppKey (Client ID), such as dingxxxxxxxxxxxxxxxx'),
  DINGTALK_APP_SECRET: z.string({ error: 'DINGTALK_APP_SECRET is required; copy the AppSecret (Client Secret) from the app\'s Credentials page' })
    .min(16, 'DINGTALK_APP_SECRET looks too short; copy the AppSecret (Client Secret) from the app\'s Credentials page'),
  DINGTALK_ROBOT_CODE: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'DINGTALK_ROBOT_CODE must be the robot\'s code (an internal app\'s robot uses its AppKey)').optional(),
  DINGTALK_CORP_ID: z.string().regex(/^ding[A-Za-z0-9]{4,60}$/, 'DINGTALK_CORP_ID must be the organisation\'s CorpId (ding…)').optional(),
  DINGTALK_CARD_TEMPLATE_ID: z.string({ error: 'DINGTALK_CARD_TEMPLATE_ID is required; publish the custos card template in the card builder and copy its id (…schema)' })
    .regex(/^[A-Za-z0-9._-]{4,128}$/, 'DINGTALK_CARD_TEMPLATE_ID must be a card template id such as 3f1b…-….schema'),
  DINGTALK_API_URL: httpUrl('DINGTALK_API_URL', 'https://api.dingtalk.com').default('https://api.dingtalk.com'),
  DINGTALK_OAPI_URL: httpUrl('DINGTALK_OAPI_URL', 'https://oapi.dingtalk.com').default('https://oapi.dingtalk.com'),
  DINGTALK_EVENT_TOKEN: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'DINGTALK_EVENT_TOKEN must be the event subscription\'s token (Events & Callbacks → 加密 token)').optional(),
  DINGTALK_EVENT_AES_KEY: z.string().regex(/^[A-Za-z0-9]{43}$/, 'DINGTALK_EVENT_AES_KEY must be the event subscription\'s 43-character EncodingAESKey (Events & Callbacks → 加密 aes_key)').optional(),
  DINGTALK_CARD_CALLBACK_TOKEN: z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, 'DINGTALK_CARD_CALLBACK_TOKEN must be 32-128 letters, digits, _ or - (e.g. openssl rand -hex 24), the `token` of the card callback URL you register').optional(),
  DINGTALK_CARD_ROUTE_KEY: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'DINGTALK_CARD_ROUTE_KEY must be the callbackRouteKey you registered the card callback URL under').optional(),
  DINGTALK_SECURITY_CONVERSATION_ID: z.string().regex(/^[A-Za-z0-9+/=_-]{4,200}$/, 'DINGTALK_SECURITY_CONVERSATION_ID must be the security group\'s openConversationId (cid…)').optional(),
  DINGTALK_HTTP_PORT: portNumber('DINGTALK_HTTP_PORT').default(3002),
});

/** Parses the DINGTALK_* settings; throws one CustosError(ConfigInvalid) listing every problem. */
export function loadDingTalkConfig(env: NodeJS.ProcessEnv = process.env): DingTalkSettings {
  const r = parseEnvSection(env, { prefix: 'DINGTALK_', label: 'DingTalk', schema, secrets: SECRETS, check: together });
  return {
    mode: r.DINGTALK_MODE, appKey: r.DINGTALK_APP_KEY, appSecret: r.DINGTALK_APP_SECRET, robotCode: r.DINGTALK_ROBOT_CODE ?? r.DINGTALK_APP_KEY,
    corpId: r.DINGTALK_CORP_ID, cardTemplateId: r.DINGTALK_CARD_TEMPLATE_ID,
    apiUrl: r.DINGTALK_API_URL.replace(/\/+$/, ''), oapiUrl: r.DINGTALK_OAPI_URL.replace(/\/+$/, ''), httpPort: r.DINGTALK_HTTP_PORT,
    cardCallbackToken: r.DINGTALK_CARD_CALLBACK_TOKEN, cardRouteKey: r.DINGTALK_CARD_ROUTE_KEY, securityConversationId: r.DINGTALK_SECURITY_CONVERSATION_ID,
    events: r.DINGTALK_EVENT_TOKEN && r.DINGTALK_EVENT_AES_KEY ? { token: r.DINGTALK_EVENT_TOKEN, aesKey: r.DINGTALK_EVENT_AES_KEY } : undefined,
  };
}
