// The WeCom (企业微信) section of the configuration, owned by this adapter (issue 17: a platform module
// brings its own config section). Parsed from the environment with zod; every problem is reported at
// once, one line each, naming the setting and how to fix it, like bot/config.ts does for the core.
import { z } from 'zod';
import { httpUrl, parseEnvSection, portNumber } from '../config-env.ts';

export interface WeComConfig {
  corpId: string;
  agentId: number;
  /** The application's Secret (gettoken's corpsecret). */
  secret: string;
  /** The callback Token (msg_signature) and EncodingAESKey (43 characters of base64, AES-256 key). */
  token: string;
  encodingAesKey: string;
  /** The API base; tests point it at their fake (WECOM_API_URL). */
  apiUrl: string;
  httpPort: number;
  /** Members who receive alert cards and security notices (WECOM_SECURITY_USERS); none: only logged. */
  securityUsers: string[];
}

const AES_KEY = z.string().regex(/^[A-Za-z0-9+/]{43}$/, 'WECOM_ENCODING_AES_KEY must be the 43-character EncodingAESKey from the app\'s 接收消息 settings')
  .refine((k) => Buffer.from(`${k}=`, 'base64').length === 32, 'WECOM_ENCODING_AES_KEY does not decode to a 32-byte AES key');

const schema = z.object({
  WECOM_CORP_ID: z.string({ error: 'WECOM_CORP_ID is required: the CorpID from 我的企业 → 企业信息' }).regex(/^[A-Za-z0-9_-]{1,64}$/, 'WECOM_CORP_ID must be the CorpID (letters and digits, such as ww0123456789abcdef)'),
  WECOM_AGENT_ID: z.string({ error: 'WECOM_AGENT_ID is required: the AgentId of the custos application' }).regex(/^\d{1,10}$/, 'WECOM_AGENT_ID must be the numeric AgentId of the application'),
  WECOM_SECRET: z.string({ error: 'WECOM_SECRET is required: the application\'s Secret' }).min(8, 'WECOM_SECRET looks too short to be the application\'s Secret'),
  WECOM_TOKEN: z.string({ error: 'WECOM_TOKEN is required: the Token of the app\'s 接收消息 (callback) settings' }).regex(/^[A-Za-z0-9]{1,32}$/, 'WECOM_TOKEN must be the callback Token (letters and digits, at most 32)'),
  WECOM_ENCODING_AES_KEY: z.string({ error: 'WECOM_ENCODING_AES_KEY is required: the EncodingAESKey of the app\'s 接收消息 settings' }).pipe(AES_KEY),
  WECOM_API_URL: httpUrl('WECOM_API_URL', 'https://qyapi.weixin.qq.com').default('https://qyapi.weixin.qq.com'),
  WECOM_HTTP_PORT: portNumber('WECOM_HTTP_PORT').default(3004),
  WECOM_SECURITY_USERS: z.string().regex(/^[A-Za-z0-9_@.-]{1,64}(\|[A-Za-z0-9_@.-]{1,64}){0,49}$/, 'WECOM_SECURITY_USERS must be WeCom userids separated by | (at most 50), such as zhangsan|lisi').optional(),
});

export function loadWeComConfig(env: NodeJS.ProcessEnv = process.env): WeComConfig {
  const v = parseEnvSection(env, { prefix: 'WECOM_', label: 'WeCom', schema });
  return {
    corpId: v.WECOM_CORP_ID, agentId: Number(v.WECOM_AGENT_ID), secret: v.WECOM_SECRET, token: v.WECOM_TOKEN,
    encodingAesKey: v.WECOM_ENCODING_AES_KEY, apiUrl: v.WECOM_API_URL.replace(/\/+$/, ''), httpPort: v.WECOM_HTTP_PORT,
    securityUsers: v.WECOM_SECURITY_USERS ? v.WECOM_SECURITY_USERS.split('|') : [],
  };
}
