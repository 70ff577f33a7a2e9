// `custos customer erase ID --reason REF`: erases one customer's personal data on request (PIPL Art. 47).
// See bot/store/erasure.ts for what is destroyed, in which order, and what stays (the audit log).
import type { Command } from 'commander';
import type { Connection } from 'mongoose';
import { loadConfig, section, type Config } from '../../config.ts';
import type { AuditRecorder } from '../../core/audit.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import { systemClock } from '../../core/ports.ts';
import { createAuditProducer } from '../../queue/audit-producer.ts';
import { connectDatabase, ensureIndexes } from '../../store/db.ts';
import { CustomerEraser, type RequestCanceller } from '../../store/erasure.ts';
import { createLogger } from '../../logger.ts';
import { chatApprovals } from '../../../workers/approvals/chat-approvals.ts';

const AUDIT_READY_MS = 5000;

/**
 * With a chat platform configured (any the registry knows), pending requests on the customer are
 * cancelled through the approval service with chat clients of its own (as `custos import employees`
 * does for offboardings), so every approver's card copy says in place that the customer's data was
 * erased, on whichever platform it was posted; without, the store alone.
 */
async function chatCanceller(conn: Connection, config: Config, recorder: AuditRecorder): Promise<{ cancel: RequestCanceller; close(): Promise<void> } | undefined> {
  const chat = await chatApprovals(conn, config, createLogger({ level: 'warn', name: 'customer-erase' }), systemClock, recorder);
  return chat && { cancel: (customerId) => chat.approvals.cancelAllOn(customerId, 'erased'), close: chat.close };
}

async function erase(customerId: string, flags: { reason: string }): Promise<void> {
  const config = loadConfig(process.env, { require: ['mongo', 'redis', 'crypto'] });
  const redis = section(config, 'redis');
  const producer = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs });
  const conn = await connectDatabase(section(config, 'mongo'));
  let canceller: Awaited<ReturnType<typeof chatCanceller>>;
  try {
    // Fail closed: an erasure that cannot be audited does not happen.
    if (!(await producer.ready(AUDIT_READY_MS))) {
      throw new CustosError(ErrorCode.AuditUnavailable, 'the audit queue (REDIS_URL) is unreachable, so nothing was erased; try again when it is up');
    }
    await ensureIndexes(conn);
    canceller = await chatCanceller(conn, config, producer);
    const eraser = new CustomerEraser({ conn, recorder: producer, clock: systemClock, erasureList: section(config, 'crypto').erasureList, ...(canceller ? { cancelRequests: canceller.cancel } : {}) });
    const r = await eraser.erase(customerId, flags.reason, { employeeId: null, platform: 'cli' });
    process.stdout.write(`erased ${r.customerId} at ${r.erasedAt.toISOString()}: data key, values, blind indexes and search tokens destroyed; `
      + `${r.requestsCancelled} pending request(s) cancelled, ${r.grantsRevoked} grant(s) revoked; recorded as customer.erase\n`);
  } finally {
    await canceller?.close().catch(() => undefined);
    await producer.close().catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
}

export function register(program: Command): void {
  const customer = program.command('customer').description('act on one customer record (erasure on request)');
  customer.command('erase')
    .description("erase one customer's personal data for good, keeping a tombstone and the audit log")
    .argument('<id>', 'the customer id, e.g. C-000123')
    .requiredOption('--reason <ref>', 'reference of the erasure request (e.g. DSR-2026-017); recorded in the audit log, so no personal data')
    .addHelpText('after', `
Needs MONGODB_URI, REDIS_URL (the audit queue: no queue, no erasure), CUSTOS_DATA_KEYS,
CUSTOS_BLIND_INDEX_KEY and CUSTOS_ERASURE_LIST (default .data/erasures.txt; keep it with your backups'
restore procedure: every start re-erases the ids it lists).

Records customer.erase first, then destroys the customer's wrapped data key, sealed values, blind indexes
and search tokens, leaves a tombstone (id + time), cancels pending requests and revokes grants naming it.
Audit events stay: they hold ids, never values. Exports made before still trace (custos export trace).

Examples:
  $ custos customer erase C-000123 --reason DSR-2026-017
`)
    .action(async (id: string, flags: { reason: string }) => { await erase(id, flags); });
}
