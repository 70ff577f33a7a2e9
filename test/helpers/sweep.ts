// Runs the workers' approval sweeper now, through its real BullMQ queue: a one-off job like the bot's
// wake-ups, picked up by the running sweeper worker; resolves once that sweep has finished. Tests that
// move the harness clock use it instead of waiting for the periodic job scheduler (every minute).
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { section, type Config } from '../../bot/config.ts';
import { SWEEP_QUEUE } from '../../bot/queue/approval-queues.ts';

export async function sweepNow(config: Config, timeoutMs = 60_000): Promise<void> {
  const { url, queuePrefix } = section(config, 'redis');
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(SWEEP_QUEUE, { connection, prefix: queuePrefix });
  // QueueEvents blocks on a duplicate of the connection it is given and leaves the given one open.
  const eventsConnection = connection.duplicate({ maxRetriesPerRequest: null });
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
