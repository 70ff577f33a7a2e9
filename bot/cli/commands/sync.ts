// `custos sync run SOURCE [--full]`, `custos sync status` and `custos sync check SOURCE`: one sync run of a
// configured CRM source now (the worker runs them on CUSTOS_SYNC_INTERVAL), each source's cursor, last
// run and counts, and the mapping checked against the live source (bot/sync/check.ts).
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
import type { ChatCanceller } from '../../../workers/sync/start.ts';

const AUDIT_READY_MS = 5000;

async function runSource(source: string, flags: { full?: boolean }): Promise<void> {
  const syncConfig = loadSyncConfig();
  if (!syncConfig.sources.includes(source)) {
    throw new CustosError(ErrorCode.SyncSourceUnknown, `no sync source "${source}": CUSTOS_SYNC_SOURCES lists ${syncConfig.sources.join(', ') || 'none'}`, { source });
  }
  const config = loadConfig(process.env, { require: ['mongo', 'crypto', 'redis'] });
  const producer = createAuditProducer({ redis: config.redis!, prefix: config.redis!.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs });
  const stores = await openDataStores();
  let canceller: ChatCanceller | undefined;
  try {
    // Fail closed: deletions and runs are audited, so without the audit queue nothing is synced.
    if (!(await producer.ready(AUDIT_READY_MS))) throw new CustosError(ErrorCode.AuditUnavailable, 'the audit queue is not reachable (REDIS_URL); nothing was synced');
    const logger = createLogger({ level: 'warn', name: 'sync' });
    // Loaded here, not at the top: it brings the chat SDKs, which only a deployment with a chat platform needs.
    const { chatCanceller } = await import('../../../workers/sync/start.ts');
    canceller = await chatCanceller(stores.conn, config, logger, systemClock, producer);
    const setup = await buildSync(syncConfig, { conn: stores.conn, cipher: stores.cipher, recorder: producer, clock: systemClock, logger, ...(canceller ? { cancelPending: canceller.cancel } : {}) });
    const r = await setup.runners.get(source)!.run({ full: flags.full ?? false });
    for (const x of r.rejections) process.stderr.write(`${source}: record ${x.sourceId}: ${x.field}: ${x.reason}\n`);
    process.stdout.write(`sync ${source}${flags.full ? ' (full)' : ''}: ${r.pages} page(s), ${r.upserted} upserted, ${r.unchanged} unchanged, ${r.deleted} deleted, ${r.rejected} rejected\n`
      + `  cursor: ${r.cursorBefore ?? '(start)'} -> ${r.cursorAfter ?? '(start)'}${r.superseded ? ' (another run moved it first)' : ''}\n`);
  } finally {
    await canceller?.close();
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

/** The mapping against the live source (fields and a sample page); no database, no audit queue needed. */
async function check(source: string): Promise<void> {
  // Loaded here, not at the top: only this command needs the connectors and the checker.
  const [{ default: path }, { loadMapping }, { CONNECTORS }, { RateBudget }, { checkSource }] = await Promise.all([
    import('node:path'), import('../../sync/mapping.ts'), import('../../sync/setup.ts'), import('../../sync/rate-budget.ts'), import('../../sync/check.ts'),
  ]);
  const syncConfig = loadSyncConfig();
  if (!syncConfig.sources.includes(source)) {
    throw new CustosError(ErrorCode.SyncSourceUnknown, `no sync source "${source}": CUSTOS_SYNC_SOURCES lists ${syncConfig.sources.join(', ') || 'none'}`, { source });
  }
  const mapping = await loadMapping(path.join(syncConfig.mappingsDir, `${source}.yaml`));
  const factory = CONNECTORS[mapping.connector ?? source];
  if (!factory) throw new CustosError(ErrorCode.SyncSourceUnknown, `${source} has no connector (a push source): there is no source to check against; each pushed line is checked as it arrives`, { source });
  const connector = factory({
    source, mapping, env: process.env, clock: systemClock, logger: createLogger({ level: 'warn', name: 'sync' }),
    budget: (perSecond) => new RateBudget({ source, perSecond, share: syncConfig.quotaShare, clock: systemClock }),
  });
  const r = await checkSource(mapping, connector);
  process.stdout.write(`sync check ${source}: ${r.sourceFields} source field(s), ${r.sampled} sample record(s)\n`);
  if (r.unmapped.length) process.stdout.write(`  not mapped (information): ${r.unmapped.join(', ')}\n`);
  for (const p of r.problems) process.stdout.write(`  problem: ${p}\n`);
  if (r.problems.length) throw new CustosError(ErrorCode.SyncMappingInvalid, `the ${source} mapping has ${r.problems.length} problem(s), listed above; fix ${path.join(syncConfig.mappingsDir, `${source}.yaml`)} or the source`, { source });
  process.stdout.write('  mapping OK\n');
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
  sync.command('check <SOURCE>')
    .description('check SOURCE\'s mapping against the live source: its field list and a sample page')
    .addHelpText('after', `
Needs CUSTOS_SYNC_SOURCES, the mapping file and the source's own settings (CUSTOS_SYNC_<SOURCE>_…); no
database. Names every mapped field the source lacks and every field whose sample values fail the
import's row schema (with how many and why, never a value), and lists source fields the mapping does
not read. Exits non-zero when there is a problem.

Examples:
  $ custos sync check jiandaoyun
`)
    .action(check);
}
