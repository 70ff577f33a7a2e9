// Runs the workers' approval sweeper now, through its real BullMQ queue: a one-off job like the bot's
// wake-ups, picked up by the running sweeper worker; resolves once that sweep has finished. Tests that
// move the harness clock use it instead of waiting for the periodic job scheduler (every minute).
import { Queue, QueueEvents } from 'bullmq';
import { section, type Config } from '../../bot/config.ts';
import { SWEEP_QUEUE } from '../../bot/queue/approval-queues.ts';
import { createRedis } from '../../bot/store/redis-client.ts';

export async function sweepNow(config: Config, timeoutMs = 60_000): Promise<void> {
  const settings = section(config, 'redis');
  const queuePrefix = settings.queuePrefix;
  const connection = createRedis(settings, { maxRetriesPerRequest: null });
  const queue = new Queue(SWEEP_QUEUE, { connection, prefix: queuePrefix });
  // QueueEvents blocks on a duplicate of the connection it is given and leaves the given one open.
  const eventsConnection = createRedis(settings, { maxRetriesPerRequest: null });
  const events = new QueueEvents(SWEEP_QUEUE, { connection: eventsConnection, prefix: queuePrefix });
  try {
    await events.waitUntilReady();
    const job = await queue.add('wake', {}, { removeOnComplete: 100, removeOnFail: 100 });
    await job.waitUntilFinished(events, timeoutMs);
  } finally {
    await events.close();
    await queue.close();
    eventsConnection.disconnect();
    connection.disconnect();
  }
}
