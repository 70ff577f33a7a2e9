// `custos report customer|disclosures|pack`: reports for the DPO, built from the audit log (README
// "Reports for the DPO"). The report modules, mongoose and the queue client load inside the handler,
// so `custos --help` does not pay for them. Bad input stops before anything is read or written.
import { Option, type Command } from 'commander';
import type { ReportKind, ReportRequest } from '../../reports/generate.ts';

const AUDIT_READY_MS = 5000;

interface Flags { from?: string; to?: string; out?: string; for?: string; lang: 'zh-CN' | 'en' }

async function run(kind: ReportKind, flags: Flags, customerId?: string): Promise<void> {
  const [{ loadConfig, section }, { CustosError, ErrorCode }, { systemClock }, { createAuditProducer }, { connectDatabase }, { auditModels }, { verifyStoredChain },
    { allCheckpoints }, { ExportStore }, { watermarkKey }, { ReportSource }, { generateReport }, { parsePeriod }, { customerIdArg }] = await Promise.all([
    import('../../config.ts'), import('../../core/errors.ts'), import('../../core/ports.ts'), import('../../queue/audit-producer.ts'), import('../../store/db.ts'),
    import('../../store/audit-model.ts'), import('../../store/audit-chain-check.ts'), import('../../store/audit-store.ts'), import('../../store/export-store.ts'),
    import('../../core/export-watermark.ts'), import('../../reports/source.ts'), import('../../reports/generate.ts'), import('../../reports/period.ts'), import('../../reports/customer.ts'),
  ]);
  // Input first: a bad date or id is refused before any connection is made.
  parsePeriod(flags.from, flags.to);
  if (kind === 'customer') customerIdArg(customerId ?? '');
  const config = loadConfig(process.env, { require: ['mongo', 'redis', 'audit'] });
  const redis = section(config, 'redis');
  const audit = section(config, 'audit');
  const producer = createAuditProducer({ redis, prefix: redis.queuePrefix, timeoutMs: config.auditPipeline.enqueueTimeoutMs });
  const conn = await connectDatabase(section(config, 'mongo'));
  try {
    const source = new ReportSource(conn);
    if (flags.for !== undefined && !(await source.employee(flags.for))) {
      throw new CustosError(ErrorCode.ReportInvalid, `--for ${flags.for}: no such employee; give the employee id of the person the report is for (e.g. E-0003)`, { field: '--for' });
    }
    // Fail closed: a report that cannot be audited is not written.
    if (!(await producer.ready(AUDIT_READY_MS))) {
      throw new CustosError(ErrorCode.AuditUnavailable, 'the audit queue (REDIS_URL) is unreachable, so no report was written; try again when it is up');
    }
    const models = await auditModels(conn);
    const exports = new ExportStore(conn);
    const request: ReportRequest = { kind, ...(customerId === undefined ? {} : { customerId }), ...flags };
    const result = await generateReport(request, {
      source, recorder: producer, clock: systemClock, key: watermarkKey(audit.hmacKey), recipient: flags.for ?? 'cli', locale: flags.lang,
      verify: () => verifyStoredChain(models, audit.signingKey, config.auditArchivedCheckpoint),
      checkpoints: () => allCheckpoints(models),
      register: async (stamp) => {
        await exports.claim({ exportId: stamp.reportId, requestId: `report-${stamp.kind}`, employeeId: stamp.recipient, tagId: stamp.tagId, canaryId: '', status: 'completed', createdAt: stamp.generatedAt });
      },
    });
    process.stdout.write(`report ${result.reportId} (${kind}) written to ${result.dir}; recorded as report.generate\n`);
    for (const f of result.files) process.stdout.write(`  ${f.file}${f.rows === undefined ? '' : `  ${f.rows} rows`}  sha256 ${f.sha256}\n`);
  } finally {
    await producer.close().catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
}

const HELP = `
Needs MONGODB_URI, REDIS_URL (the audit queue: every report is recorded as report.generate, and none is
written when it cannot be), CUSTOS_AUDIT_HMAC_KEY (the watermark) and CUSTOS_AUDIT_SIGNING_KEY (the
pack verifies the chain). --from and --to are days (UTC, both included) or ISO times with an offset.
Files go to a new directory (--out, default ./custos-report-<id>); an existing directory is refused.
CSV files are UTF-8 with BOM, watermarked like exports (header, footer, an invisible per-recipient mark
on every row: custos export trace names the report). Ids only: no customer personal data.

Examples:
  $ custos report customer C-000123 --from 2026-01-01 --to 2026-06-30 --for E-0003
  $ custos report disclosures --from 2026-11-01 --to 2026-11-30 --out dpo/2026-11
  $ custos report pack --from 2026-01-01 --to 2026-12-31 --out audit-pack-2026
`;

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--from <date>', 'first day (UTC) or time of the period, e.g. 2026-11-01')
    .requiredOption('--to <date>', 'last day (UTC, included) or time of the period, e.g. 2026-11-30')
    .option('--out <dir>', 'a new directory for the files (default ./custos-report-<id>)')
    .option('--for <employeeId>', 'the employee the report is for (recorded, and in the watermark); default "cli"')
    .addOption(new Option('--lang <locale>', 'language of the CSV headers').choices(['zh-CN', 'en']).default('zh-CN'))
    .addHelpText('after', HELP);
}

export function register(program: Command): void {
  const report = program.command('report').description('reports for the DPO: one customer\'s accesses, the disclosure register, the compliance pack');
  common(report.command('customer')
    .description('who looked at, revealed, exported or was granted access to one customer\'s data (PIPL Art. 45)')
    .argument('<id>', 'the customer id, e.g. C-000123'))
    .action(async (id: string, flags: Flags) => { await run('customer', flags, id); });
  common(report.command('disclosures')
    .description('every cross-department grant and every export, with its approvers'))
    .action(async (flags: Flags) => { await run('disclosures', flags); });
  common(report.command('pack')
    .description('compliance pack: chain verification and checkpoints, policy versions, reviews, freezes, erasures, refusals; CSV + HTML (zh-CN, en)'))
    .action(async (flags: Flags) => { await run('pack', flags); });
}
