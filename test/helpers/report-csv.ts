// What a report asked in chat (`audit report …`) must deliver: the report module's CSV for that ask,
// stamped with the export's id, tag and creation time as stored (the export worker's own inputs), so a
// delivered file can be compared byte for byte with an independent rendering of the same report.
import type { Connection } from 'mongoose';
import type { AuditReportAsk } from '../../bot/core/audit-report-command.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { watermarkKey } from '../../bot/core/export-watermark.ts';
import { ReportSource } from '../../bot/reports/source.ts';
import { ExportStore } from '../../bot/store/export-store.ts';
import { reportCsv } from '../../workers/export/report-run.ts';

export async function expectedReportCsv(conn: Connection, exportId: string, ask: AuditReportAsk, requester: Employee, hmacKey: Buffer): Promise<{ text: string; rows: number }> {
  const record = await new ExportStore(conn).byId(exportId);
  if (!record) throw new Error(`no export record ${exportId}`);
  const { text, rows } = await reportCsv(new ReportSource(conn), { exportId, ask, requester, at: record.createdAt, key: watermarkKey(hmacKey), tagId: record.tagId });
  return { text: text.replace(/^\uFEFF/, ''), rows };
}
