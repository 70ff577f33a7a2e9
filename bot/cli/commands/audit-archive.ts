// `custos audit archive --before DATE` (bot/store/audit-archiver.ts) and the check of one bundle alone,
// `custos audit verify --archive BUNDLE` (bot/core/audit-archive.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, section } from '../../config.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import { systemClock } from '../../core/ports.ts';
import { createAuditProducer } from '../../queue/audit-producer.ts';
import { checkBundleFile } from '../../store/audit-archive-file.ts';
import { AuditArchiver } from '../../store/audit-archiver.ts';
import { auditModels } from '../../store/audit-model.ts';
import { connectDatabase } from '../../store/db.ts';

const AUDIT_READY_MS = 5000;
export const ARCHIVE_EXIT_BROKEN = 1;

function dateArg(value: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected a date such as 2023-01-01 (UTC) or 2023-01-01T00:00:00+08:00');
  return d;
}

/** `verify --archive BUNDLE`: the bundle alone, with the signing key only (no database). */
export async function verifyBundle(file: string): Promise<void> {
  const config = loadConfig(process.env, { require: ['audit'] });
  const r = await checkBundleFile(file, section(config, 'audit').signingKey);
  if (r.ok) {
    const s = r.seal!;
    process.stdout.write(`archive intact: ${s.events} events, seq ${s.firstSeq}-${s.lastSeq}, closing checkpoint #${s.checkpoint} (hash ${s.lastHash}), seal signed with CUSTOS_AUDIT_SIGNING_KEY\n`);
    return;
  }
  process.stdout.write(`archive BROKEN: ${r.problem}\n`);
  process.exitCode = ARCHIVE_EXIT_BROKEN;
}

async function archive(flags: { before: Date; dir?: string }): Promise<void> {
  const config = loadConfig(process.env, { require: ['mongo', 'redis', 'audit'] });
  const redis = section(config, 'redis');
  const producer = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs });
  const conn = await connectDatabase(section(config, 'mongo'));
  try {
    // Evidence first: an archive whose audit.archive event cannot be recorded removes nothing.
    if (!(await producer.ready(AUDIT_READY_MS))) {
      throw new CustosError(ErrorCode.AuditUnavailable, 'the audit queue (REDIS_URL) is unreachable, so nothing was archived; try again when it is up');
    }
    const archiver = new AuditArchiver({
      models: await auditModels(conn), signingKey: section(config, 'audit').signingKey, recorder: producer, clock: systemClock,
      retentionDays: config.auditRetentionDays, dir: flags.dir ?? config.auditArchiveDir,
    });
    const out = await archiver.archive(flags.before);
    if (out.kind === 'nothing') { process.stdout.write(`nothing to archive: ${out.reason}\n`); return; }
    const r = out.record;
    process.stdout.write(`${out.resumed ? 'finished the interrupted archive' : 'archived'} seq ${r.firstSeq}-${r.lastSeq} (${r.events} events) to ${r.file}\n`
      + `closing checkpoint #${r.checkpoint}, bundle SHA-256 ${r.bundleSha256}; recorded as audit.archive, removed from the live log\n`
      + `custos audit verify now starts after seq ${r.lastSeq}; keep the bundle on write-once storage\n`);
  } finally {
    await producer.close().catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
}

const ARCHIVE_HELP = `
Needs MONGODB_URI, REDIS_URL (the audit queue: no audit.archive event, no removal),
CUSTOS_AUDIT_HMAC_KEY and CUSTOS_AUDIT_SIGNING_KEY. DATE must be at least CUSTOS_AUDIT_RETENTION_DAYS
(≥ 1095) in the past. The archive ends at the last signed checkpoint before DATE.

Writes the events to CUSTOS_AUDIT_ARCHIVE_DIR/custos-audit-seq-FIRST-LAST.jsonl.gz (gzip JSON lines
ending with the closing checkpoint and a seal signed with the signing key), checks it, records
audit.archive (range and bundle SHA-256), and only then removes the events from the live log. Refused
while an audit-stream sink has not yet delivered the range. Interrupted? Run it again: it finishes.

Examples:
  $ custos audit archive --before 2023-01-01
  $ custos audit verify --archive .data/audit-archive/custos-audit-seq-1-48210.jsonl.gz
`;

export function registerArchive(audit: Command): void {
  audit.command('archive')
    .description('move audit events older than the retention window to a signed, compressed bundle')
    .requiredOption('--before <DATE>', 'archive events that occurred before this date (UTC unless an offset is given)', dateArg)
    .option('--dir <DIR>', 'where to write the bundle (default CUSTOS_AUDIT_ARCHIVE_DIR)')
    .addHelpText('after', ARCHIVE_HELP)
    .action(archive);
}
