// Slack delivers at least once: an event is retried (X-Slack-Retry-Num 1..3) when our 200 did not reach
// it in time, with the same `event_id`. We keep the first delivery of each id and drop later copies —
// whether or not they carry a retry header, because after a failed first attempt the "retry" is the
// only delivery that arrives. Slash commands and button clicks are keyed by `trigger_id`.
// Redis `SET key NX EX ttl` makes the check atomic across bot replicas. If Redis cannot answer, we
// process the request (fail open): a duplicate reply is harmless, and the audit gate still decides
// whether any customer data is shown. A slash command whose answer-ledger entry was just opened is known
// to be a first delivery already (pending.ts) and skips the check.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';
import type { DeliveryChecked } from './pending.ts';
import { errorSummary } from './receiver.ts';

export interface Deduper {
  /** true for the first delivery of `key` within the TTL, false for a repeat. */
  firstDelivery(key: string): Promise<boolean>;
  /** Forgets a key so a redelivery is processed (used when processing failed before any reply). */
  forget(key: string): Promise<void>;
}

export const DEDUPE_TTL_SECONDS = 3600; // Slack's retries end within about 10 minutes

export function redisDeduper(redis: RedisClient, prefix: string, logger: Logger, ttlSeconds = DEDUPE_TTL_SECONDS): Deduper {
  const k = (key: string) => `${prefix}:slack-dedupe:${key}`;
  return {
    async firstDelivery(key) {
      try {
        return (await redis.set(k(key), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
      } catch (err) {
        logger.warn({ err: errorSummary(err) }, 'slack: dedupe store unavailable; processing the request');
        return true;
      }
    },
    async forget(key) {
      await redis.del(k(key)).catch(() => undefined);
    },
  };
}

/** The dedupe key of a Slack request body, or undefined for requests that need none. */
export function dedupeKey(body: Record<string, unknown>): string | undefined {
  const team = typeof body.team_id === 'string' ? body.team_id : '';
  if (body.type === 'event_callback' && typeof body.event_id === 'string') return `evt:${team}:${body.event_id}`;
  if (typeof body.command === 'string' && typeof body.trigger_id === 'string') return `cmd:${body.trigger_id}`;
  if (body.type === 'block_actions' && typeof body.trigger_id === 'string') return `act:${body.trigger_id}`;
  return undefined;
}

/** Global Bolt middleware: repeats are acknowledged (where Bolt has not already) and go no further. */
export function dedupeMiddleware(deduper: Deduper, logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const key = dedupeKey(args.body as unknown as Record<string, unknown>);
    if (key === undefined || (args.context as DeliveryChecked).firstDelivery) return args.next();
    if (!(await deduper.firstDelivery(key))) {
      logger.info({ kind: key.slice(0, 3), retryNum: (args as { context?: { retryNum?: number } }).context?.retryNum }, 'slack: duplicate delivery dropped');
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      return;
    }
    try {
      await args.next();
    } catch (err) {
      // Nothing was answered for this delivery; let Slack's redelivery (if any) try again.
      await deduper.forget(key);
      throw err;
    }
  };
}
