// Export records: which export, for whom, under which request and grant, its watermark tag and canary
// id, and its progress. `custos export trace` reads them back. One document per export id (unique), so a
// retried export job finds the earlier run instead of starting a second file.
import type { Collection, Connection } from 'mongoose';

export const EXPORT_COLLECTION = 'exports';

export interface ExportRecord {
  exportId: string;
  requestId: string;
  grantId?: string;
  employeeId: string;
  tagId: string;
  canaryId: string;
  status: 'running' | 'completed' | 'failed';
  createdAt: Date;
  completedAt?: Date;
  rows?: number;
  capped?: boolean;
  columns?: string[];
  fileId?: string;
}

export class ExportStore {
  private readonly col: Collection;

  constructor(conn: Connection) {
    this.col = conn.collection(EXPORT_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.col.createIndex({ exportId: 1 }, { unique: true });
    await this.col.createIndex({ tagId: 1 });
    await this.col.createIndex({ canaryId: 1 });
  }

  /** Claims the export id; false when a run already exists. */
  async claim(record: ExportRecord): Promise<boolean> {
    try {
      await this.col.insertOne({ ...record });
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === 11000) return false;
      throw err;
    }
  }

  async byId(exportId: string): Promise<ExportRecord | null> {
    return this.one({ exportId });
  }

  async byTag(tagId: string): Promise<ExportRecord | null> {
    return this.one({ tagId });
  }

  async byCanary(customerIds: string[]): Promise<ExportRecord[]> {
    const docs = await this.col.find({ canaryId: { $in: customerIds } }).toArray();
    return docs.map((d) => strip(d as Record<string, unknown>));
  }

  async update(exportId: string, patch: Partial<ExportRecord>): Promise<void> {
    await this.col.updateOne({ exportId }, { $set: patch });
  }

  private async one(filter: Record<string, unknown>): Promise<ExportRecord | null> {
    const d = await this.col.findOne(filter);
    return d ? strip(d as Record<string, unknown>) : null;
  }
}

function strip(d: Record<string, unknown>): ExportRecord {
  const { _id: _ignored, ...rest } = d;
  return rest as unknown as ExportRecord;
}
