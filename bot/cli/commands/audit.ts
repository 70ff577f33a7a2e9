// `custos audit verify`: walks the whole audit chain (streamed) and its signed checkpoints. Prints
// "N events, chain intact" and exits 0, or names the first bad seq and what is wrong and exits 1.
// After an archive, `--from-checkpoint N` (or CUSTOS_AUDIT_ARCHIVED_CHECKPOINT) starts the walk at
// signed checkpoint N (see audit-verify.ts).
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import mongoose from 'mongoose';
import { loadConfig, section } from '../../config.ts';
import { verifyStoredChain } from '../../store/audit-chain-check.ts';
import { auditModels } from '../../store/audit-model.ts';
import { parseAnchors } from '../../core/audit-anchors.ts';
import type { AuditCheckpoint } from '../../core/audit-event.ts';
import { CustosError, ErrorCode } from '../../core/errors.ts';
import { registerArchive, verifyBundle } from './audit-archive.ts';

export const VERIFY_EXIT_BROKEN = 1;

function checkpointNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a checkpoint number (1, 2, 3 …)');
  return n;
}

/** The anchored checkpoints in FILE; an unreadable or invalid file stops before the database is read. */
function readAnchors(file: string, signingKey: Buffer): AuditCheckpoint[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CustosError(ErrorCode.AuditAnchorsInvalid, `--anchors ${file} cannot be read (${(err as { code?: string }).code ?? 'error'}); give the anchor file CUSTOS_STREAM_ANCHOR_FILE points to, or a copy of it`, { file });
  }
  return parseAnchors(text, signingKey);
}

async function verify(flags: { fromCheckpoint?: number; anchors?: string; archive?: string }): Promise<void> {
  if (flags.archive !== undefined) { await verifyBundle(flags.archive); return; }
  const config = loadConfig(process.env, { require: ['mongo', 'audit'] });
  const anchors = flags.anchors === undefined ? undefined : readAnchors(flags.anchors, section(config, 'audit').signingKey);
  const mongo = section(config, 'mongo');
  const conn = await mongoose.createConnection(mongo.uri, { dbName: mongo.db, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    const models = await auditModels(conn);
    const result = await verifyStoredChain(models, section(config, 'audit').signingKey, flags.fromCheckpoint ?? config.auditArchivedCheckpoint, anchors);
    const cp = result.latestCheckpoint;
    // The latest checkpoint's signature, for operators to note down outside the database: a checkpoint
    // deleted together with the records it vouches for is only noticed against such an outside copy.
    const cpLine = cp ? `latest checkpoint #${cp.n} covers seq ${cp.lastSeq}, signature ${cp.sig}` : 'no checkpoints yet';
    const a = result.archive;
    const archiveNote = a && a.checkpoint === result.from?.n ? ` by custos audit archive, bundle SHA-256 ${a.bundleSha256}${a.state === 'done' ? '' : ' (removal unfinished: run custos audit archive again)'}` : '';
    const fromLine = result.from ? `verified from archived checkpoint #${result.from.n} (seq 1-${result.from.lastSeq} archived${archiveNote}), signature ${result.from.sig}\n` : '';
    if (result.ok && result.events === 0 && !result.from && !cp) {
      // Not "chain intact": an empty log usually means the wrong database (e.g. the demo's is custos_demo).
      process.stdout.write(`the audit log is empty: no events in database "${mongo.db}", nothing to verify`
        + ' (the demo\'s settings: --env-file .data/demo/demo.env)\n');
      return;
    }
    const anchorLine = anchors ? `checked against ${anchors.length} anchored checkpoint${anchors.length === 1 ? '' : 's'} (up to #${Math.max(...anchors.map((a) => a.n))})\n` : '';
    if (result.ok) {
      process.stdout.write(`${result.events} events, chain intact\n${anchorLine}${fromLine}${cpLine}\n`);
      return;
    }
    const p = result.problem!;
    process.stdout.write(`audit chain BROKEN at seq ${p.seq}: ${p.problem}\n${result.events} events verified before it; ${cpLine}\n`);
    process.exitCode = VERIFY_EXIT_BROKEN;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

const VERIFY_HELP = `
Needs MONGODB_URI, CUSTOS_AUDIT_HMAC_KEY and CUSTOS_AUDIT_SIGNING_KEY (the key the worker signs
checkpoints with; see README: Configuration). Streams the whole log, so it is safe on millions of events.
Prints "N events, chain intact" and exits 0 ("the audit log is empty" when there is nothing to verify), or "audit chain BROKEN at seq S: <what is wrong>" for an
edited, deleted, inserted, reordered or truncated record and exits 1. Note the printed signature of the
latest checkpoint somewhere outside the database.

Examples:
  $ custos audit verify
  $ custos audit verify --from-checkpoint 12     # seq 1 to checkpoint 12 were archived
  $ custos audit verify --anchors /var/lib/custos/anchors.jsonl   # also against checkpoints kept outside the database
  $ custos audit verify --archive custos-audit-seq-1-48210.jsonl.gz  # one archive bundle alone

After \`custos audit archive\`, the walk starts at the archive's closing checkpoint by itself (the archive
record in the database, signed): the first live event must link to the archive's closing hash.
With --archive BUNDLE, only the bundle is checked (needs CUSTOS_AUDIT_SIGNING_KEY, no database): its
seal's signature, every record's hash and MAC, the links, the checkpoints and the closing checkpoint.

With --anchors FILE (JSON lines of signed checkpoints, as the audit stream writes to
CUSTOS_STREAM_ANCHOR_FILE or a SIEM holds), the chain must also agree with every anchored checkpoint:
a database whose records were rewritten and whose own checkpoints were re-signed is still caught.
`;

export function register(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit.command('verify')
    .description('walk the audit chain and its signed checkpoints; exit 0 if intact, 1 naming the first bad seq')
    .option('--from-checkpoint <N>', 'start at signed checkpoint N: the records it covers were archived (compare its printed signature with your archived copy); default CUSTOS_AUDIT_ARCHIVED_CHECKPOINT', checkpointNumber)
    .option('--anchors <FILE>', 'also check the chain against signed checkpoints kept outside the database (JSON lines)')
    .option('--archive <BUNDLE>', 'check one archive bundle alone (written by custos audit archive) instead of the database')
    .addHelpText('after', VERIFY_HELP)
    .action(verify);
  registerArchive(audit);
}
