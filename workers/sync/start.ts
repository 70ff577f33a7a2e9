// Starts the sync worker next to the others (workers/main.ts) when CUSTOS_SYNC_SOURCES names a source
// with a connector to pull; push-only sources are served by the bot's HTTP server instead.
import type { Connection } from 'mongoose';
import type { SyncConfig } from '../../bot/config-sync.ts';
import { section, type Config } from '../../bot/config.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { Logger } from '../../bot/logger.ts';
import { createAuditProducer } from '../../bot/queue/audit-producer.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { buildSync, type ConnectorFactory } from '../../bot/sync/setup.ts';
import { startSyncWorker } from './worker.ts';
import { chatApprovals } from '../approvals/chat-approvals.ts';
import { channelNotices, type ChannelNotices } from '../../bot/runtime/security-notices.ts';
import { SyncLagWatch } from '../../bot/sync/lag-watch.ts';
import type { AuditRecorder } from '../../bot/core/audit.ts';
import type { PendingOnCustomerCanceller } from '../../bot/sync/customer-revoker.ts';

/**
 * With a chat platform configured, a customer deleted in its CRM has its pending requests cancelled through
 * the approval service (chat clients of its own, as the sweeper has), so every approver's card copy says
 * in place that the customer was deleted in the CRM; without a chat platform, the store alone. `custos sync
 * run` uses it too.
 */
export async function chatCanceller(conn: Connection, config: Config, logger: Logger, clock: Clock, recorder: AuditRecorder): Promise<ChatCanceller | undefined> {
  const chat = await chatApprovals(conn, config, logger, clock, recorder);
  return chat && { cancel: (customerId) => chat.approvals.cancelAllOn(customerId, 'deletedAtSource'), close: chat.close };
}

/** `close` releases the chat clients (a module's own Redis connection) when the caller stops. */
export interface ChatCanceller { cancel: PendingOnCustomerCanceller; close(): Promise<void> }

/** `syncConfig` parsed where the process starts (workers/main.ts), with the rest of the configuration. */
export async function startSyncWorkers(conn: Connection, config: Config, syncConfig: SyncConfig, logger: Logger, clock: Clock, opts: { env?: NodeJS.ProcessEnv; connectors?: Record<string, ConnectorFactory> } = {}): Promise<{ close(): Promise<void> } | null> {
  if (syncConfig.sources.length === 0 || !config.crypto) return null;
  const redis = section(config, 'redis');
  const log = logger.child({ worker: 'sync' });
  const recorder = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs, logger: log });
  let canceller: ChatCanceller | undefined;
  let notices: ChannelNotices | null = null;
  const release = async () => { await notices?.close(); await canceller?.close(); await recorder.close(); };
  try {
    canceller = await chatCanceller(conn, config, log, clock, recorder);
    const setup = await buildSync(syncConfig, {
      conn, cipher: new FieldCipher(config.crypto), recorder, clock, logger: log, env: opts.env ?? process.env,
      ...(opts.connectors ? { connectors: opts.connectors } : {}), ...(canceller ? { cancelPending: canceller.cancel } : {}),
    });
    const pulled = new Map([...setup.runners].filter(([source]) => setup.pulled.has(source)));
    if (pulled.size === 0) { await release(); return null; }
    notices = await channelNotices(config, log);
    const lagWatch = new SyncLagWatch({ store: setup.store, notices, locale: config.defaultLocale, clock, logger: log, thresholdSeconds: syncConfig.lagAlertSeconds });
    const worker = await startSyncWorker({ redis, prefix: redis.queuePrefix, runners: pulled, intervalMs: syncConfig.intervalSeconds * 1000, reconcileMs: syncConfig.reconcileSeconds * 1000, logger: log, lagWatch });
    return { async close() { await worker.close(); await release(); } };
  } catch (err) {
    await release();
    throw err;
  }
}
