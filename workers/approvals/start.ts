// Starts the approval sweeper and the export worker next to the audit worker (workers/main.ts), when the
// configuration has what they need (Slack or Lark to talk to people, crypto keys to read customers).
import { reportChainOf } from '../../bot/reports/chain.ts';
import { ReportSource } from '../../bot/reports/source.ts';
import type { Connection } from 'mongoose';
import { section, type Config } from '../../bot/config.ts';
import { watermarkKey } from '../../bot/core/export-watermark.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { Logger } from '../../bot/logger.ts';
import { createAuditProducer } from '../../bot/queue/audit-producer.ts';
import { publishGrantChanges } from '../../bot/store/grant-cache.ts';
import { createRedis } from '../../bot/store/redis-client.ts';
import { approvalQueues } from '../../bot/queue/approval-queues.ts';
import { auditModels } from '../../bot/store/audit-model.ts';
import { MongoAuditLogReader } from '../../bot/store/audit-query-store.ts';
import { ExportStore } from '../../bot/store/export-store.ts';
import { approvalSettingsOf } from '../../bot/core/approvals/settings.ts';
import { chatPlatforms } from '../../bot/runtime/chat-routing.ts';
import { reofferStalledExports } from '../export/reoffer.ts';
import { startExportWorker } from '../export/worker.ts';
import { workerApprovalParts } from './service.ts';
import { closeEach } from '../closing.ts';
import { startSweeper } from './sweeper.ts';

export async function startApprovalWorkers(conn: Connection, config: Config, logger: Logger, clock: Clock): Promise<{ close(): Promise<void> } | null> {
  if (chatPlatforms(config).length === 0 || !config.crypto) return null;
  const redis = section(config, 'redis');
  const recorder = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs, logger });
  const queues = approvalQueues(redis, redis.queuePrefix, clock);
  // Grants this worker stores are announced, so no bot's grant cache hides them (bot/store/grant-cache.ts).
  const announcer = createRedis(redis, { maxRetriesPerRequest: 1 });
  announcer.on('error', () => undefined);
  const parts = await workerApprovalParts(conn, config, logger, clock, recorder, queues.exports, publishGrantChanges(announcer, redis.keyPrefix, logger));
  const exports = new ExportStore(conn);
  await exports.ensureIndexes();
  const windowMinutes = approvalSettingsOf(parts.engine.policy).exportWindowMinutes;
  const reofferExports = () => reofferStalledExports({ requests: parts.requests, exports, queue: queues.exportJobs, clock, windowMinutes });
  const sweeper = await startSweeper({ redis, prefix: redis.queuePrefix, approvals: parts.approvals, logger: logger.child({ worker: 'approvals' }), reofferExports });
  const exporter = startExportWorker({
    redis, prefix: redis.queuePrefix, logger: logger.child({ worker: 'export' }),
    deps: {
      engine: parts.engine, customers: parts.customers, directory: parts.directory, grants: parts.grants, requests: parts.requests, exports,
      recorder, clock, key: watermarkKey(section(config, 'audit').hmacKey), maxRows: approvalSettingsOf(parts.engine.policy).exportMaxRows,
      delivery: parts.chat.delivery,
      auditLog: new MongoAuditLogReader(await auditModels(conn)), reports: new ReportSource(conn), reportChain: await reportChainOf(conn, config), // audit-export requests (issue 8), reports (issue 20)
    },
  });
  return {
    async close() {
      await closeEach(logger, [
        ['export worker', () => exporter.close()], ['approval sweeper', () => sweeper.close()], ['approval queues', () => queues.close()],
        ['audit producer', () => recorder.close()], ['chat clients', () => parts.chat.close()], ['grant announcer', async () => { announcer.disconnect(); }],
      ]);
    },
  };
}
