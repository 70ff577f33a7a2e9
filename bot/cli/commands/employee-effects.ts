// What `custos import employees` needs to carry out offboardings, transfers and reactivations: the audit
// queue (every change is audited; no queue, no change), the grant and request stores, and — when a chat
// platform is configured (any the registry knows) — the approval service with chat clients of its own
// (routed per platform like the bots'), so approvers' cards of the cancelled requests are updated in place
// wherever they were posted.
// Built lazily: a file without such changes needs none of it.
import type { Connection } from 'mongoose';
import { loadConfig, type Config } from '../../config.ts';
import { OffboardingService } from '../../core/offboarding.ts';
import { systemClock } from '../../core/ports.ts';
import { GrantAndRequestRevoker, storeCanceller, type PendingCanceller } from '../../core/security/revoker.ts';
import { createLogger } from '../../logger.ts';
import { createAuditProducer, type AuditProducer } from '../../queue/audit-producer.ts';
import type { EmployeeChangeHandler } from '../../store/employee-changes.ts';
import { EmployeeStore } from '../../store/employee-store.ts';
import { MongoGrantStore } from '../../store/grant-store.ts';
import { MongoRequestStore } from '../../store/request-store.ts';
import { chatApprovals } from '../../../workers/approvals/chat-approvals.ts';

const AUDIT_READY_MS = 5000;

export interface EmployeeEffects { handler: EmployeeChangeHandler; close(): Promise<void> }

/** `close` releases the chat clients the approval service notifies through. */
async function pendingCanceller(conn: Connection, config: Config, producer: AuditProducer): Promise<{ cancel: PendingCanceller; close?: () => Promise<void> }> {
  const chat = await chatApprovals(conn, config, createLogger({ level: 'warn', name: 'import' }), systemClock, producer);
  if (!chat) return { cancel: storeCanceller(new MongoRequestStore(conn), systemClock) };
  return { cancel: (id, reason) => chat.approvals.cancelAllOf(id, reason), close: chat.close };
}

export function employeeEffects(conn: Connection, env: NodeJS.ProcessEnv = process.env): EmployeeEffects {
  let producer: AuditProducer | undefined;
  let service: OffboardingService | undefined;
  let closeChat: (() => Promise<void>) | undefined;
  const handler: EmployeeChangeHandler = {
    async ready() {
      if (service) return true;
      const config = loadConfig(env, { require: ['mongo', 'crypto'] });
      if (!config.redis) return false;
      producer = createAuditProducer({ redis: config.redis!, prefix: config.redis.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs });
      if (!(await producer.ready(AUDIT_READY_MS))) return false;
      const grants = new MongoGrantStore(conn);
      const canceller = await pendingCanceller(conn, config, producer);
      closeChat = canceller.close;
      const revoker = new GrantAndRequestRevoker(grants, canceller.cancel);
      service = new OffboardingService({ directory: new EmployeeStore(conn), revoker, recorder: producer, clock: systemClock });
      return true;
    },
    offboard: (employeeId) => service!.offboard(employeeId, 'import'),
    transferred: ({ employeeId, from, to }) => service!.transferred(employeeId, from, to),
    reactivate: ({ employeeId, to }) => service!.reactivate(employeeId, to, 'import'),
  };
  return { handler, close: async () => { await closeChat?.(); await producer?.close(); } };
}
