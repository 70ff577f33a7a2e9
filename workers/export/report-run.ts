// One approved report asked in chat (`audit report …`, issue 20): the same files the CLI's
// `custos report customer|disclosures|pack` writes (bot/reports, one renderer for both), stamped with
// the export's id and tag so `custos export trace` names it, written to the file the export job then
// delivers. A customer or disclosures report is its one CSV; the pack (several CSVs, two HTML pages and
// its manifest) is delivered as one ZIP of exactly those files (bot/core/zip.ts).
import { writeFile } from 'node:fs/promises';
import type { AuditReportAsk } from '../../bot/core/audit-report-command.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { renderReportFiles, type RenderDeps, type RenderedFile } from '../../bot/reports/generate.ts';
import { parsePeriod, periodLabel } from '../../bot/reports/period.ts';
import type { ReportStamp } from '../../bot/reports/render.ts';
import type { ReportSource } from '../../bot/reports/source.ts';
import { zipFiles } from '../../bot/core/zip.ts';

export interface ReportExportPlan { exportId: string; ask: AuditReportAsk; requester: Employee; at: Date; key: Buffer; tagId: string }

/** What a pack reads besides the log: the chain's verification and its checkpoints (as `custos report pack`). */
export type ReportChain = Pick<RenderDeps, 'verify' | 'checkpoints'>;

/** The stamp a chat report carries: the export id as report id, the requester as recipient. */
export function chatReportStamp(plan: ReportExportPlan): ReportStamp {
  const period = parsePeriod(plan.ask.from, plan.ask.to);
  return { reportId: plan.exportId, kind: plan.ask.kind, period: periodLabel(period), recipient: plan.requester.employeeId, generatedAt: plan.at, tagId: plan.tagId, key: plan.key };
}

const NO_CHAIN: ReportChain = {
  verify: () => Promise.reject(new Error('the chain is not readable here')), checkpoints: () => Promise.reject(new Error('the chain is not readable here')),
};

/** Every file of the report, rendered by the CLI's own renderer with this export's stamp. */
export async function reportFiles(source: ReportSource, plan: ReportExportPlan, chain: ReportChain = NO_CHAIN): Promise<RenderedFile[]> {
  const period = parsePeriod(plan.ask.from, plan.ask.to);
  return renderReportFiles({ kind: plan.ask.kind, ...(plan.ask.customerId ? { customerId: plan.ask.customerId } : {}) }, period, chatReportStamp(plan),
    { source, locale: plan.requester.locale, ...chain });
}

/** The report's CSV text (a customer or disclosures report), exactly as the CLI renders that table with this stamp. */
export async function reportCsv(source: ReportSource, plan: ReportExportPlan): Promise<{ text: string; rows: number; columns: string[] }> {
  const [file] = await reportFiles(source, plan);
  return { text: file!.text, rows: file!.rows ?? 0, columns: [...file!.columns ?? []] };
}

/** The pack as one ZIP: its files in the CLI's order, each dated the report's time. */
export function packZip(files: readonly RenderedFile[], at: Date): Buffer {
  return zipFiles(files.map((f) => ({ name: f.file, data: Buffer.from(f.text, 'utf8') })), at);
}

export async function runReportExport(source: ReportSource, plan: ReportExportPlan, file: string, chain?: ReportChain): Promise<{ rows: number; capped: boolean; columns: string[]; bytes: number }> {
  const files = await reportFiles(source, plan, chain);
  const rows = files.reduce((s, f) => s + (f.rows ?? 0), 0);
  const body = plan.ask.kind === 'pack' ? packZip(files, plan.at) : Buffer.from(files[0]!.text, 'utf8');
  await writeFile(file, body, { flag: 'wx' });
  // A pack's "columns" are its files (export.complete counts them); a CSV's are its header's.
  const columns = plan.ask.kind === 'pack' ? files.map((f) => f.file) : [...files[0]!.columns ?? []];
  return { rows, capped: false, columns, bytes: body.length };
}
