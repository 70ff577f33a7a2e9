// Starts the access-review worker next to the audit worker (workers/main.ts) when Slack or Lark is
// configured: reviews are cards in the reviewers' DMs, so without a chat platform there is nobody to ask.
// Each reviewer (and DPO) is reached on Slack when bound there, else on Lark (approvals/chat.ts).
import type { Connection } from 'mongoose';
import { section, type Config } from '../../bot/config.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { Logger } from '../../bot/logger.ts';
import { createAuditProducer } from '../../bot/queue/audit-producer.ts';
import { prepareReviewService } from '../../bot/store/review-service.ts';
import { chatPlatforms } from '../../bot/runtime/chat-routing.ts';
import { workerChat } from '../approvals/chat.ts';
import { startReviewWorker } from './worker.ts';
import { closeEach } from '../closing.ts';

export async function startReviewWorkers(conn: Connection, config: Config, logger: Logger, clock: Clock): Promise<{ close(): Promise<void> } | null> {
  if (chatPlatforms(config).length === 0) return null;
  const redis = section(config, 'redis');
  const log = logger.child({ worker: 'reviews' });
  const recorder = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs, logger: log });
  // Closed with the worker: a platform's chat may hold a connection of its own (DingTalk's card ledger in Redis).
  const chat = workerChat(config, log);
  try {
    const build = await prepareReviewService(conn);
    const reviews = build({ notifier: chat.reviews, recorder, clock, timing: config.review });
    const worker = await startReviewWorker({ redis, prefix: redis.queuePrefix, settings: config.review, reviews, logger: log });
    return {
      async close() {
        await closeEach(log, [['review scheduler', () => worker.close()], ['review chat', () => chat.close()], ['review audit producer', () => recorder.close()]]);
      },
    };
  } catch (err) {
    await chat.close();
    await recorder.close();
    throw err;
  }
}
