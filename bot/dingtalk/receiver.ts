// POST /dingtalk/callback: robot messages in HTTP mode. In this order, each failure a 401 that reaches
// nothing else (no API call, no audit event, no job):
//  1. the `timestamp` and `sign` headers are checked (verify.ts), before the body is read or parsed;
//  2. the body is read (at most 64 KB) and must be a robot message for our robot (robotCode) in our
//     organisation (corpId);
//  3. the signature is bound to the body: DingTalk's signature covers only the timestamp, so the first
//     body a signature arrives with is remembered for the window (Redis) and the same signature with
//     another body is refused — a captured request cannot be altered. The same signature with the
//     same body is a redelivery, passed on and dropped by its msgId.
import { callbackRoute, headerOf, parseJson } from '../http/body.ts';
import type { RouteHandler } from '../http/server.ts';
import { createHash } from 'node:crypto';
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';
import { redisClaims, type Claims } from '../runtime/once.ts';
import type { DingTalkSettings } from './config.ts';
import { RobotMessage, type DingTalkHandlers } from './handlers.ts';
import { verifySignature, WINDOW_MS } from './verify.ts';

export const DINGTALK_CALLBACK_PATH = '/dingtalk/callback';
const MAX_BODY_BYTES = 64 * 1024;

/** Step 3 in Redis (bot/runtime/once.ts), failing closed; bound for twice the window, as long as the signature could still be accepted. */
export function signatureClaims(redis: RedisClient, namespace: string): Claims {
  return redisClaims(redis, namespace, Math.ceil((2 * WINDOW_MS) / 1000) + 60);
}

export interface DingTalkReceiverDeps {
  settings: Pick<DingTalkSettings, 'appSecret' | 'robotCode' | 'corpId'>;
  handlers: DingTalkHandlers;
  signatures: Claims;
  logger: Logger;
  now?: () => number;
}

export function robotCallback(d: DingTalkReceiverDeps): RouteHandler {
  return callbackRoute({
    label: 'dingtalk: callback', logger: d.logger, maxBytes: MAX_BODY_BYTES,
    before: (req) => {
      const verdict = verifySignature({ timestamp: headerOf(req, 'timestamp'), sign: headerOf(req, 'sign') }, d.settings.appSecret, (d.now ?? Date.now)());
      return verdict.ok ? null : verdict.reason;
    },
    accept: async (raw, req) => {
      const message = robotMessageFor(raw, d.settings);
      if (typeof message === 'string') return message;
      // Last, so a refused request leaves nothing behind, not even a ledger entry.
      const bound = await d.signatures(headerOf(req, 'sign')!, createHash('sha256').update(raw).digest('base64url'));
      if (bound === 'other' || bound === 'unavailable') return bound === 'other' ? 'signature_reused' : 'ledger_unavailable';
      await d.handlers.message(message);
      return 'accepted';
    },
  });
}

/** The robot message in `raw` if it is one for our robot in our organisation (HTTP and Stream mode), else why not. */
export function robotMessageFor(raw: Buffer, s: Pick<DingTalkSettings, 'robotCode' | 'corpId'>): RobotMessage | 'malformed_body' | 'wrong_robot' | 'wrong_corp' {
  const r = RobotMessage.safeParse(parseJson(raw));
  if (!r.success) return 'malformed_body';
  const message = r.data;
  if (message.robotCode !== undefined && message.robotCode !== s.robotCode) return 'wrong_robot';
  return s.corpId && message.chatbotCorpId !== s.corpId ? 'wrong_corp' : message;
}
