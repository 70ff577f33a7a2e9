// Tracing a leaked export file back to its export and employee: the invisible markers first (each
// verified with the watermark key, so a forged or damaged marker names nobody), then canary ids (for a
// file whose zero-width characters were stripped). Platform-neutral: the lookup of export records is a port.
import { customerIdsIn, findMarkers, verifyMarker } from './export-watermark.ts';

export interface TracedExport { exportId: string; employeeId: string; requestId: string; createdAt: Date; canaryId: string; tagId: string }

export interface ExportRecords {
  byTag(tagId: string): Promise<TracedExport | null>;
  byCanary(customerIds: string[]): Promise<TracedExport[]>;
}

export interface TraceResult {
  /** Exports whose verified marker was found, with the number of rows carrying it. */
  byMarker: { record: TracedExport; rows: number }[];
  /** Markers that decoded but did not verify (tampered, or another deployment's key). */
  unverified: number;
  /** Exports whose canary row is in the file. */
  byCanary: TracedExport[];
}

export async function traceExport(text: string, key: Buffer, records: ExportRecords): Promise<TraceResult> {
  const result: TraceResult = { byMarker: [], unverified: 0, byCanary: [] };
  for (const m of findMarkers(text)) {
    const record = await records.byTag(m.tagId);
    if (record && verifyMarker(key, m, record.exportId, record.employeeId)) result.byMarker.push({ record, rows: m.count });
    else result.unverified += m.count;
  }
  result.byCanary = await records.byCanary([...customerIdsIn(text)]);
  return result;
}
