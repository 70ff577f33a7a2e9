// `custos export trace FILE`: names the export and the employee a (leaked) export file came from, from
// its invisible per-row markers, or from its canary row when the markers were stripped. Works on the
// whole file, without header and footer, re-sorted or cut to a subset. Prints ids only, never customer data.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig, section } from '../../config.ts';
import { traceExport } from '../../core/export-trace.ts';
import { watermarkKey } from '../../core/export-watermark.ts';
import { connectDatabase } from '../../store/db.ts';
import { EmployeeStore } from '../../store/employee-store.ts';
import { ExportStore } from '../../store/export-store.ts';

async function trace(file: string): Promise<void> {
  const config = loadConfig(process.env, { require: ['mongo', 'audit'] });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    process.stderr.write(`cannot read ${file}\n`);
    process.exitCode = 2;
    return;
  }
  const conn = await connectDatabase(section(config, 'mongo'));
  try {
    const exports = new ExportStore(conn);
    const directory = new EmployeeStore(conn);
    const result = await traceExport(text, watermarkKey(section(config, 'audit').hmacKey), exports);
    const name = async (id: string) => (await directory.byId(id))?.name ?? '?';
    for (const { record, rows } of result.byMarker) {
      process.stdout.write(`export ${record.exportId}: employee ${record.employeeId} (${await name(record.employeeId)}), request ${record.requestId}, `
        + `created ${new Date(record.createdAt).toISOString()}; marker verified in ${rows} row(s)\n`);
    }
    for (const record of result.byCanary) {
      process.stdout.write(`export ${record.exportId}: employee ${record.employeeId} (${await name(record.employeeId)}); its canary row ${record.canaryId} is in the file\n`);
    }
    if (result.unverified) process.stdout.write(`${result.unverified} row(s) carry a marker that does not verify (tampered or foreign)\n`);
    if (result.byMarker.length === 0 && result.byCanary.length === 0) {
      process.stdout.write('no custos export watermark found\n');
      process.exitCode = 1;
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export function register(program: Command): void {
  const exp = program.command('export').description('approved exports');
  exp.command('trace')
    .description('identify the export and employee a CSV file came from (works on edited, re-sorted or partial files)')
    .argument('<file>', 'the CSV file')
    .addHelpText('after', `
Needs MONGODB_URI and CUSTOS_AUDIT_HMAC_KEY (the watermark key is derived from it). Prints the export,
the employee and the request behind the file (ids and a name, never customer data); exits 1 when no
custos watermark is found.

Examples:
  $ custos export trace leaked.csv
`)
    .action(async (file: string) => { await trace(file); });
}
