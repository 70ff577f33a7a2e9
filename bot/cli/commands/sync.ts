// `custos sync run SOURCE [--full]` and `custos sync status`: one sync run of a configured CRM source
// now (the worker runs them on CUSTOS_SYNC_INTERVAL), and each source's cursor, last run and counts.
import type { Command } from 'commander';
import { loadSyncConfig } from '../../config-sync.ts';
import { loadConfig } from '../../config.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import { systemClock } from '../../core/ports.ts';
import { createLogger } from '../../logger.ts';
import { createAuditProducer } from '../../queue/audit-producer.ts';
import { openDataStores } from '../../store/open.ts';
import { buildSync } from '../../sync/setup.ts';
import { SyncStore } from '../../sync/sync-store.ts';

const AUDIT_READY_MS = 5000;

async function runSource(source: string, flags: { full?: boolean }): Promise<void> {
  const syncConfig = loadSyncConfig();
  if (!syncConfig.sources.includes(source)) {
    throw new CustosError(ErrorCode.SyncSourceUnknown, `no sync source "${source}": CUSTOS_SYNC_SOURCES lists ${syncConfig.sources.join(', ') || 'none'}`, { source });
  }
  const config = loadConfig(process.env, { require: ['mongo', 'crypto', 'redis'] });
  const producer = createAuditProducer({ redisUrl: config.redis!.url, prefix: config.redis!.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs });
  const stores = await openDataStores();
  try {
    // Fail closed: deletions and runs are audited, so without the audit queue nothing is synced.
    if (!(await producer.ready(AUDIT_READY_MS))) throw new CustosError(ErrorCode.AuditUnavailable, 'the audit queue is not reachable (REDIS_URL); nothing was synced');
    const setup = await buildSync(syncConfig, { conn: stores.conn, cipher: stores.cipher, recorder: producer, clock: systemClock, logger: createLogger({ level: 'warn', name: 'sync' }) });
    const r = await setup.runners.get(source)!.run({ full: flags.full ?? false });
    for (const x of r.rejections) process.stderr.write(`${source}: record ${x.sourceId}: ${x.field}: ${x.reason}\n`);
    process.stdout.write(`sync ${source}${flags.full ? ' (full)' : ''}: ${r.pages} page(s), ${r.upserted} upserted, ${r.unchanged} unchanged, ${r.deleted} deleted, ${r.rejected} rejected\n`
      + `  cursor: ${r.cursorBefore ?? '(start)'} -> ${r.cursorAfter ?? '(start)'}${r.superseded ? ' (another run moved it first)' : ''}\n`);
  } finally {
    await producer.close();
    await stores.close();
  }
}

async function status(): Promise<void> {
  const syncConfig = loadSyncConfig();
  const stores = await openDataStores();
  try {
    const store = new SyncStore(stores.conn);
    const sources = [...new Set([...syncConfig.sources, ...(await store.sources())])].sort();
    if (sources.length === 0) { process.stdout.write('no sync sources (set CUSTOS_SYNC_SOURCES)\n'); return; }
    const now = Date.now();
    for (const s of sources) {
      const st = await store.statusOf(s);
      const lag = st.lastSuccessAt ? `${Math.round((now - st.lastSuccessAt.getTime()) / 1000)}s` : 'never synced';
      process.stdout.write(`${s}: cursor ${st.cursor ?? '(start)'} (move ${st.version}), lag ${lag}, last error ${st.lastError ?? 'none'}\n`
        + `  totals: ${st.counts.upserted} upserted, ${st.counts.unchanged} unchanged, ${st.counts.deleted} deleted, ${st.counts.rejected} rejected\n`);
    }
  } finally {
    await stores.close();
  }
}

export function register(program: Command): void {
  const sync = program.command('sync').description('keep customers in step with a CRM (Salesforce, 简道云, pushed systems)');
  sync.command('run <SOURCE>')
    .description('run one sync of SOURCE now: its changes since the stored cursor')
    .option('--full', 'read the whole source from the start, then reconcile (deletes what the source no longer has)')
    .addHelpText('after', `
Needs MONGODB_URI, CUSTOS_DATA_KEYS, CUSTOS_BLIND_INDEX_KEY, REDIS_URL (the audit queue: runs and deletions
are audited; without it nothing is synced) and CUSTOS_SYNC_SOURCES with a mapping file per source in
CUSTOS_SYNC_MAPPINGS. Records that fail validation are listed on stderr by source id and field, never
the value. Exits non-zero when the source or the audit queue is unreachable (the cursor stays put).

Examples:
  $ custos sync run erp
  $ custos sync run erp --full
`)
    .action(runSource);
  sync.command('status')
    .description('each source\'s cursor, lag since its last good run, last error and totals')
    .addHelpText('after', `
Needs MONGODB_URI, CUSTOS_DATA_KEYS and CUSTOS_BLIND_INDEX_KEY; lists the sources in CUSTOS_SYNC_SOURCES
and any source that has synced before.

Examples:
  $ custos sync status
`)
    .action(status);
}
