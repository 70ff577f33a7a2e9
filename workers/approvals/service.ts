// The approval service as the background workers build it (sweeper, export worker): same stores and
// policy as the bot, chat I/O through clients of its own on every configured platform (chat.ts). The
// reveal re-mask at grant expiry replaces the requester's card with a fresh lookup of the customer (audited
// as a lookup, like the card shown at approval), so they keep the card with the field masked again rather
// than a card stripped to its title; the requester's next lookup is masked anyway (read-time check). That
// lookup has no rate limit or detectors around it: the requester did not ask for it.
import { SyncFreshness } from '../../bot/sync/freshness.ts';
import { SyncStore } from '../../bot/sync/sync-store.ts';
import type { Connection } from 'mongoose';
import { section, type Config } from '../../bot/config.ts';
import type { AuditRecorder } from '../../bot/core/audit.ts';
import { ApprovalService, type ExportQueue } from '../../bot/core/approvals/service.ts';
import { approvalSettingsOf } from '../../bot/core/approvals/settings.ts';
import { LookupService } from '../../bot/core/lookup.ts';
import { applyDecision } from '../../bot/core/view.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { Logger } from '../../bot/logger.ts';
import { workerChat, type WorkerChat } from './chat.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { EmployeeStore } from '../../bot/store/employee-store.ts';
import { MongoGrantStore } from '../../bot/store/grant-store.ts';
import { MongoRequestStore } from '../../bot/store/request-store.ts';
import { eraserOf } from '../../bot/store/erasure.ts';
import type { GrantChanges } from '../../bot/store/grant-cache.ts';
import { createPolicyEngine, loadPolicy, type PolicyEngineImpl } from '../../policies/index.ts';

export interface WorkerApprovalParts {
  approvals: ApprovalService;
  engine: PolicyEngineImpl;
  customers: CustomerStore;
  directory: EmployeeStore;
  grants: MongoGrantStore;
  requests: MongoRequestStore;
  chat: WorkerChat;
}

/** `grantChanges`: where grants the workers store (a decision a bot's crash cut short) are announced to the bots' caches. */
export async function workerApprovalParts(conn: Connection, config: Config, logger: Logger, clock: Clock, recorder: AuditRecorder, exports?: ExportQueue, grantChanges?: GrantChanges): Promise<WorkerApprovalParts> {
  const grants = new MongoGrantStore(conn, grantChanges);
  const requests = new MongoRequestStore(conn);
  await grants.ensureIndexes();
  await requests.ensureIndexes();
  const engine = createPolicyEngine(loadPolicy(config.policyDir), { grants });
  const customers = new CustomerStore(conn, new FieldCipher(section(config, 'crypto')));
  const directory = new EmployeeStore(conn);
  const lookup = new LookupService({ engine, customers, recorder, clock, grants, freshness: new SyncFreshness(new SyncStore(conn)), present: applyDecision, queryHmacKey: section(config, 'audit').hmacKey });
  const chat = workerChat(config, logger, lookup);
  const approvals = new ApprovalService({
    engine, customers, requests, grants, directory, recorder, clock,
    // What the workers record themselves (a decision or grant a bot's crash cut short, an erasure finished)
    // was done by the system, not through any chat platform: the actor platform says so, as the export
    // worker's and the security guard's own events do (NON_CHAT_ACTORS, bot/core/audit.ts).
    notifier: chat.notifier, settings: approvalSettingsOf(engine.policy), platform: 'system',
    ...(exports ? { exports } : {}),
    // The sweeper finishes an approved erasure whose effects were cut short (a crash after the decision).
    erasure: eraserOf(conn, config, recorder, clock),
  });
  return { approvals, engine, customers, directory, grants, requests, chat };
}
