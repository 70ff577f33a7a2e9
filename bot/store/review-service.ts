// Builds the access-review service on a database connection: the review stores, grants, the employee
// directory and the audit log as its ports. The bot (click handlers) and the review worker (cycles,
// sweeps) build it the same way, each with its own notifier.
import type { Connection } from 'mongoose';
import type { AuditRecorder } from '../core/audit.ts';
import type { Clock } from '../core/ports.ts';
import { AccessReviewService, type ReviewNotifier, type ReviewTiming } from '../core/reviews/service.ts';
import type { ReviewPeople } from '../core/reviews/types.ts';
import { auditModels } from './audit-model.ts';
import { EmployeeStore } from './employee-store.ts';
import { MongoGrantStore } from './grant-store.ts';
import { MongoReviewActivity } from './review-activity.ts';
import { MongoReviewStore } from './review-store.ts';

export interface ReviewServiceDeps { notifier: ReviewNotifier; recorder: AuditRecorder; clock: Clock; timing: ReviewTiming }

/** Creates the collections' indexes, then returns a factory (the notifier may only exist later, e.g. Bolt's client). */
export async function prepareReviewService(conn: Connection): Promise<(deps: ReviewServiceDeps) => AccessReviewService> {
  const store = new MongoReviewStore(conn);
  await store.ensureIndexes();
  const grants = new MongoGrantStore(conn);
  await grants.ensureIndexes();
  const directory = new EmployeeStore(conn);
  const people: ReviewPeople = {
    byId: (id) => directory.byId(id),
    // The directory is small (EmployeeStore.all); DPOs are few.
    dpos: async () => (await directory.all()).filter((e) => e.status === 'active' && e.roles.includes('dpo')),
  };
  const { events } = await auditModels(conn);
  return (deps) => new AccessReviewService({ store, grants, people, activity: new MongoReviewActivity(events), ...deps });
}
