// One approved audit export: the events matching the request's audit filter, newest first, as the
// `/audit` table shows them (same columns, same cells; ids and codes only, the log holds no personal
// data), written to a UTF-8 CSV with BOM, a visible header and footer and the recipient's invisible
// marker on every row (`custos export trace` reads it like a customer export's). There is no canary
// row: a fake audit event would be a false record in an evidence file.
//
// Reading is the query service's keyset walk (seq below the last row read), one bounded page at a time,
// so memory stays flat and the row cap ends the walk.
import type { AuditFilter, AuditLogReader } from '../../bot/core/audit-query-service.ts';
import { auditColumns, auditRowCells, auditTimeFormat } from '../../bot/core/audit-query-views.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { csvCell, encodeMarker, UTF8_BOM } from '../../bot/core/export-watermark.ts';
import { openCsvFile } from './csv-file.ts';

export interface AuditExportPlan {
  exportId: string;
  filter: AuditFilter;
  requester: Employee;
  at: Date;
  maxRows: number;
  key: Buffer; // watermark key
  tagId: string;
  batch?: number;
  onProgress?: (rows: number) => Promise<void> | void;
}

export interface AuditExportResult { rows: number; capped: boolean; columns: string[]; bytes: number }

export async function runAuditExport(log: AuditLogReader, plan: AuditExportPlan, file: string): Promise<AuditExportResult> {
  const locale = plan.requester.locale;
  const columns = auditColumns(locale);
  const fmt = auditTimeFormat(plan.requester.timezone);
  const marker = encodeMarker(plan.key, plan.tagId, plan.exportId, plan.requester.employeeId);
  const batch = plan.batch ?? 500;
  const out = openCsvFile(file);
  const header = `# custos audit export ${plan.exportId} · ${plan.requester.employeeId} ${plan.requester.name} · ${plan.at.toISOString()}`;
  await out.write(`${UTF8_BOM}${csvCell(header)}\r\n`);
  await out.write(`${columns.map(csvCell).join(',')}\r\n`);

  let rows = 0;
  let capped = false;
  let cursor: { older: number } | null = null;
  for (;;) {
    const limit = Math.min(batch, plan.maxRows - rows + 1); // one row beyond the cap tells that it cut
    const page = await log.page(plan.filter, cursor, limit);
    for (const r of page) {
      if (rows >= plan.maxRows) { capped = true; break; }
      const [seq, ...rest] = auditRowCells(r, locale, fmt);
      await out.write(`${[`${seq}${marker}`, ...rest].map(csvCell).join(',')}\r\n`);
      rows++;
    }
    if (capped || page.length < limit) break;
    await plan.onProgress?.(rows);
    cursor = { older: page[page.length - 1]!.seq };
  }
  await out.write(`${csvCell(`# end of audit export ${plan.exportId} · ${rows} rows${capped ? ` (cut at ${plan.maxRows})` : ''} · ${plan.requester.employeeId}`)}\r\n`);
  await out.close();
  return { rows, capped, columns, bytes: out.bytes };
}
