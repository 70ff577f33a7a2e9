// `custos import customers FILE` / `custos import employees FILE`: load a CSV or JSON Lines file.
// Summary on stdout, row errors and progress on stderr; exit code 1 when any row was rejected.
import { InvalidArgumentError, type Command } from 'commander';
import { PLATFORMS } from '../../platforms.ts';
import { CUSTOMER_COLUMNS, employeeColumns, LIST_SEPARATOR } from '../../store/import-schemas.ts';
import { importFile, type ImportKind, type ImportReport } from '../../store/import.ts';
import { openDataStores } from '../../store/open.ts';
import { employeeEffects } from './employee-effects.ts';

export const IMPORT_EXIT_REJECTED = 1;

interface ImportFlags { format?: string; skipInvalid?: boolean; batchSize?: number; allowReactivation?: boolean; overrideScim?: boolean }

function batchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  return n;
}

function printReport(r: ImportReport): void {
  for (const e of r.errors) process.stderr.write(`${r.file}: line ${e.line}: ${e.field}: ${e.reason}\n`);
  const shown = r.errors.length;
  if (r.rejected > 0 && shown < r.rejected) process.stderr.write(`(showing the first ${shown} errors; ${r.rejected} rows were rejected)\n`);
  const lines = [
    `import ${r.kind} from ${r.file} (${r.format})`,
    `  rows read: ${r.rows}`,
    `  inserted:  ${r.inserted}`,
    `  updated:   ${r.updated}`,
    `  unchanged: ${r.unchanged}`,
    `  rejected:  ${r.rejected}`,
  ];
  for (const o of r.changes?.offboarded ?? []) {
    lines.push(`  offboarded ${o.employeeId}: ${o.grants} grant(s) revoked, ${o.requests} pending request(s) cancelled`);
  }
  for (const m of r.changes?.transferred ?? []) {
    lines.push(`  transferred ${m.employeeId} from ${m.from} to ${m.to}: ${m.grants} grant(s) revoked, ${m.requests} pending request(s) cancelled`);
  }
  for (const b of r.changes?.reactivated ?? []) {
    lines.push(`  reactivated ${b.employeeId} (now ${b.to}): no grants, chat bindings cleared; ${b.grants} leftover grant(s) revoked`);
  }
  for (const id of r.changes?.keptFrozen ?? []) {
    lines.push(`  kept ${id} frozen although the file says active: only an admin's Unfreeze lifts a freeze`);
  }
  if (r.rejected > 0 && !r.written) {
    lines.push(`nothing was imported: ${r.rejected} row(s) have errors (listed on stderr). Fix them and run again, or pass --skip-invalid to import the valid rows.`);
  } else if (r.rejected > 0) {
    lines.push(`the valid rows were imported; ${r.rejected} row(s) were skipped (listed on stderr).`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function action(kind: ImportKind) {
  return async (file: string, flags: ImportFlags): Promise<void> => {
    const stores = await openDataStores();
    const effects = kind === 'employees' ? employeeEffects(stores.conn) : undefined;
    try {
      const report = await importFile(stores.conn, stores.cipher, kind, file, {
        format: flags.format,
        skipInvalid: flags.skipInvalid ?? false,
        batchSize: flags.batchSize,
        ...(effects ? { employeeChanges: effects.handler } : {}),
        allowReactivation: flags.allowReactivation ?? false,
        overrideScim: flags.overrideScim ?? false,
        onProgress: (phase, rows) => process.stderr.write(`import: ${phase === 'validate' ? 'checked' : 'imported'} ${rows} rows…\n`),
      });
      printReport(report);
      if (report.rejected > 0) process.exitCode = IMPORT_EXIT_REJECTED;
    } finally {
      await effects?.close();
      await stores.close();
    }
  };
}

const COMMON_HELP = `
Formats: CSV with a header row (UTF-8; Excel's BOM is fine), or JSON Lines (one object per line).
The format comes from the extension (.csv, .jsonl, .ndjson) unless --format is given.
In CSV an empty cell means "absent"; list columns are separated by "${LIST_SEPARATOR}"; dates are ISO 8601.

Rows are upserted by id: importing the same file twice changes nothing the second time. By default a
file with ANY bad row imports nothing: every error is listed with its line number, field and reason,
and the command exits with status 1. With --skip-invalid the good rows are imported and the bad ones
listed (exit status 1 as well). The same id twice in one file is an error of the later row.
Needs MONGODB_URI, CUSTOS_DATA_KEYS and CUSTOS_BLIND_INDEX_KEY (see README: Configuration).`;

export function register(program: Command): void {
  const cmd = program.command('import')
    .description('load customers or employees from a CSV or JSON Lines file (idempotent upsert by id)')
    .addHelpText('after', `
Run \`custos import customers --help\` or \`custos import employees --help\` for the columns.

Examples:
  $ custos import employees staff.csv       # the directory first: customers name their owner (ownerId)
  $ custos import customers customers.csv
  $ custos import customers big.jsonl --skip-invalid
`);

  const common = (c: Command) => c
    .option('--format <format>', 'csv or jsonl (default: from the file extension)')
    .option('--skip-invalid', 'import the valid rows and report the rest (default: a bad row stops the whole import)')
    .option('--batch-size <N>', 'rows per database write', batchSize);

  common(cmd.command('customers')
    .argument('<FILE>', 'CSV or JSON Lines file of customers')
    .description('import customers; sensitive fields are encrypted, phone / e-mail / ID number indexed for exact lookup'))
    .addHelpText('after', `${COMMON_HELP}

Columns (customerId, name, type, region, tier, ownerId and status are required):
  ${CUSTOMER_COLUMNS.join(', ')}
  type: person|company   region: north|east|south|west|central|overseas   tier: standard|silver|gold|platinum
  status: lead|active|churned|blocked   campaigns, interests, disputes: "a${LIST_SEPARATOR}b"
  followUps (CSV: a JSON array): [{"at":"2026-04-20T02:00:00Z","by":"E-0012","note":"called"}]
  contracts (CSV: a JSON array): [{"contractNo":"HT-2025-1","title":"Annual","signedAt":"2025-06-01","amount":120000}]

Examples:
  $ custos import customers customers.csv
  $ custos import customers export.ndjson --skip-invalid
  $ custos import customers data.txt --format csv
`)
    .action(action('customers'));

  common(cmd.command('employees')
    .argument('<FILE>', 'CSV or JSON Lines file of employees')
    .description('import the employee directory; chat bindings made in chat are kept unless the file gives them'))
    .option('--allow-reactivation', 'let rows set offboarded employees back to active (default: such a row is an error)')
    .option('--override-scim', 'let rows change employees the identity provider manages through SCIM (default: such a row is an error)')
    .addHelpText('after', `${COMMON_HELP}

Columns (employeeId, email, name, department, roles and region are required):
  ${employeeColumns().join(', ')}
  roles: "staff${LIST_SEPARATOR}lead" from staff, lead, head, admin, auditor, dpo
  timezone: IANA name (default Asia/Shanghai)   locale: zh-CN|en (default zh-CN)
  status: active|frozen|offboarded (default active)   external: true|false (default false)
  chat.<platform>: the person's user id on a registered chat platform (${PLATFORMS.ids().join(', ')});
    JSON Lines: "chat": {"slack": "U…", "lark": "ou_…"}; another platform id is an error
  An e-mail may belong to one employee only; the same e-mail twice in a file is an error.

Offboarding and transfers take effect at once: a row that sets status offboarded revokes the person's
grants and cancels their pending requests (approvers' Slack cards say so); a row with a new department
revokes their grants and pending requests too (the old department's rights end; the policy decides by
the current department). Both are audited, so such a file needs REDIS_URL (the audit queue): without it
nothing is imported. Someone missing from the file is NOT offboarded: files may be partial.

Reactivation: a row that sets an offboarded employee back to active (or frozen) is an error unless
--allow-reactivation is given, so an HR file that still lists someone who has left cannot quietly bring
them back. With the flag they come back with no grants and no pending requests, their chat bindings
are cleared (they are matched by e-mail again on their next message, unless the row gives chat ids),
and the reactivation is audited (admin.reactivate); it too needs the audit queue.

SCIM: an employee the identity provider manages through SCIM (README: SCIM) is changed there; a row
for them is an error unless --override-scim is given (the IdP may then overwrite it on its next sync).

Examples:
  $ custos import employees staff.csv
  $ custos import employees hr-export.jsonl
  $ custos import employees rehired.csv --allow-reactivation
`)
    .action(action('employees'));
}
