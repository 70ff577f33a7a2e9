// Starts every background worker of custos (audit, approvals, exports, access reviews, CRM sync) on one database connection.
// `startWorkers(config, logger)` is what `custos start` uses; running this file directly
// (`node --import tsx workers/main.ts`) starts them with the environment's configuration and stops
// them gracefully on SIGTERM / SIGINT.
import { pathToFileURL } from 'node:url';
import mongoose, { type Connection } from 'mongoose';
import { loadSyncConfig, type SyncConfig } from '../bot/config-sync.ts';
import { loadConfig, section, type Config } from '../bot/config.ts';
import { systemClock, type Clock } from '../bot/core/ports.ts';
import { createLogger, type Logger } from '../bot/logger.ts';
import { chatPlatforms } from '../bot/runtime/chat-routing.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { startAuditWorker } from './audit/worker.ts';
import { closeEach } from './closing.ts';
import { stopOnSignals } from './signals.ts';
import { startSyncWorkers } from './sync/start.ts';

export const WORKER_CONFIG_SECTIONS = ['mongo', 'redis', 'audit'] as const;

export interface RunningWorkers { close(): Promise<void> }

/** The workers' own settings (the CRM sync's), parsed where the process starts, with the shared configuration. */
export interface WorkerSettings { sync: SyncConfig }

export function workerSettings(env: NodeJS.ProcessEnv): WorkerSettings {
  return { sync: loadSyncConfig(env) };
}

/** `settings` default: parsed from this process's environment (tests and `custos demo`; `custos start` passes its own). */
export async function startWorkers(config: Config, logger: Logger, clock: Clock = systemClock, settings: WorkerSettings = workerSettings(process.env)): Promise<RunningWorkers> {
  const mongo = section(config, 'mongo');
  const redis = section(config, 'redis');
  const audit = section(config, 'audit');
  const conn: Connection = await mongoose.createConnection(mongo.uri, { dbName: mongo.db, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    const models = await auditModels(conn);
    const auditWorker = await startAuditWorker({
      redis,
      prefix: redis.queuePrefix,
      models,
      signingKey: audit.signingKey,
      clock,
      settings: config.auditPipeline,
      logger: logger.child({ worker: 'audit' }),
    });
    // The chat workers' modules are loaded only when configured (each start function checks again): they
    // pull in Bolt and the Lark SDK, half a second of CPU that a process running only the audit worker
    // (`custos start --only worker` without Slack or Lark) need not spend.
    const chat = chatPlatforms(config).length > 0;
    // Approvals (sweeper) and exports need Slack or Lark and the crypto keys; without them only the audit worker runs.
    const approvalWorkers = chat && config.crypto
      ? await (await import('./approvals/start.ts')).startApprovalWorkers(conn, config, logger, clock) : null;
    // The periodic access review (its schedule from CUSTOS_REVIEW_*), also only with Slack or Lark configured.
    const reviewWorkers = chat ? await (await import('./reviews/start.ts')).startReviewWorkers(conn, config, logger, clock) : null;
    // CRM sync runs on CUSTOS_SYNC_INTERVAL for each source with a connector (CUSTOS_SYNC_SOURCES).
    const syncWorkers = await startSyncWorkers(conn, config, settings.sync, logger, clock);
    return {
      async close() {
        await closeEach(logger, [
          ['sync workers', syncWorkers && (() => syncWorkers.close())], ['review workers', reviewWorkers && (() => reviewWorkers.close())],
          ['approval workers', approvalWorkers && (() => approvalWorkers.close())],
          ['audit worker', () => auditWorker.close()], ['database', () => conn.close().catch(() => undefined)],
        ]);
      },
    };
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfig(process.env, { require: [...WORKER_CONFIG_SECTIONS] });
  const logger = createLogger({ level: config.logLevel });
  const running = await startWorkers(config, logger);
  stopOnSignals(() => running.close(), logger);
}
