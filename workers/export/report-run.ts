// One approved report asked in chat (`audit report …`, issue 20): the same table and watermarked CSV
// the CLI's `custos report customer|disclosures` writes (bot/reports), stamped with the export's id and
// tag so `custos export trace` names it, written to the file the export job then delivers.
import { writeFile } from 'node:fs/promises';
import type { AuditReportAsk } from '../../bot/core/audit-report-command.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { customerReport } from '../../bot/reports/customer.ts';
import { disclosuresReport } from '../../bot/reports/disclosures.ts';
import { parsePeriod, periodLabel } from '../../bot/reports/period.ts';
import { csvText, type ReportStamp } from '../../bot/reports/render.ts';
import type { ReportSource } from '../../bot/reports/source.ts';

export interface ReportExportPlan { exportId: string; ask: AuditReportAsk; requester: Employee; at: Date; key: Buffer; tagId: string }

/** The stamp a chat report carries: the export id as report id, the requester as recipient. */
export function chatReportStamp(plan: ReportExportPlan): ReportStamp {
  const period = parsePeriod(plan.ask.from, plan.ask.to);
  return { reportId: plan.exportId, kind: plan.ask.kind, period: periodLabel(period), recipient: plan.requester.employeeId, generatedAt: plan.at, tagId: plan.tagId, key: plan.key };
}

/** The report's CSV text, exactly as the CLI renders that table with this stamp. */
export async function reportCsv(source: ReportSource, plan: ReportExportPlan): Promise<{ text: string; rows: number; columns: string[] }> {
  const period = parsePeriod(plan.ask.from, plan.ask.to);
  const table = plan.ask.kind === 'customer' ? await customerReport(source, plan.ask.customerId!, period) : await disclosuresReport(source, period);
  return { text: csvText(table, chatReportStamp(plan), plan.requester.locale), rows: table.rows.length, columns: [...table.columns] };
}

export async function runReportExport(source: ReportSource, plan: ReportExportPlan, file: string): Promise<{ rows: number; capped: boolean; columns: string[]; bytes: number }> {
  const { text, rows, columns } = await reportCsv(source, plan);
  await writeFile(file, text, { encoding: 'utf8', flag: 'wx' });
  return { rows, capped: false, columns, bytes: Buffer.byteLength(text) };
}
