// The access-review tests' shared parts (Slack and Lark): a grant as the approval flow would have made
// it, and the review worker's jobs run on demand through its real BullMQ queue, as the schedulers would.
import { Queue, QueueEvents } from 'bullmq';
import type { Employee } from '../../bot/core/domain.ts';
import type { Grant } from '../../policies/grants.ts';
import { REVIEW_QUEUE, type ReviewJobName } from '../../workers/reviews/worker.ts';
import { testRedis } from './services.ts';

const HOUR = 3_600_000;

/** A live (or, with a negative `expiresInMs`, expired) grant on `customerIds`, created two hours ago. */
export function reviewGrant(now: Date, grantId: string, grantee: Employee, grantedBy: Employee, customerIds: string[], groups: Grant['groups'], expiresInMs: number): Grant {
  return {
    grantId, granteeId: grantee.employeeId, target: { kind: 'customers', customerIds }, groups, actions: ['lookup'],
    expiresAt: new Date(now.getTime() + expiresInMs), grantedBy: [grantedBy.employeeId], purpose: '合同核对', createdAt: new Date(now.getTime() - 2 * HOUR),
  };
}

export class ReviewJobs {
  private readonly redis = testRedis();
  private readonly eventsRedis = testRedis();
  readonly queue: Queue;
  private events: QueueEvents | undefined;

  constructor(prefix: string) {
    this.queue = new Queue(REVIEW_QUEUE, { connection: this.redis, prefix });
    this.events = new QueueEvents(REVIEW_QUEUE, { connection: this.eventsRedis, prefix });
  }

  async ready(): Promise<this> {
    await this.events!.waitUntilReady();
    return this;
  }

  /** Runs one review job through the worker and waits for it to finish. */
  async run(name: ReviewJobName): Promise<void> {
    const job = await this.queue.add(name, {});
    await job.waitUntilFinished(this.events!, 120_000);
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
    this.redis.disconnect();
    this.eventsRedis.disconnect();
  }
}
