// Export delivery on WeCom: the file into the requester's chat with the app (api.sendFile). A message
// cannot be edited, so the requester reads "exporting" at the start and the final line once the file is
// there; the counts in between (one per 5,000 rows) would each be a message, and are left out.
import { readFile } from 'node:fs/promises';
import type { Employee } from '../core/domain.ts';
import type { ExportDelivery } from '../runtime/platform-module.ts';
import type { WeComApi } from './api.ts';
import { clipBytes, LIMITS } from './render.ts';

function userOf(to: Employee): string {
  if (!to.chat.wecom) throw new Error('requester has no WeCom identity');
  return to.chat.wecom;
}

export class WeComExportDelivery implements ExportDelivery {
  /** Requesters whose file was sent and whose final line is due (the export worker runs one job at a time). */
  private readonly delivered = new Set<string>();

  constructor(private readonly api: WeComApi) {}

  async start(to: Employee, text: string): Promise<Employee> {
    await this.api.sendText(userOf(to), clipBytes(text, LIMITS.textBytes));
    return to;
  }

  async progress(to: unknown, text: string): Promise<void> {
    const e = to as Employee;
    if (this.delivered.delete(e.employeeId)) await this.api.sendText(userOf(e), clipBytes(text, LIMITS.textBytes)).catch(() => undefined);
  }

  /** Over WeCom's 20 MB the file fails before upload (WeComApiError 40006) and the job fails, as on Lark. */
  async upload(to: Employee, file: string, filename: string): Promise<string | undefined> {
    const { mediaId } = await this.api.sendFile(userOf(to), filename, await readFile(file));
    this.delivered.add(to.employeeId);
    return mediaId;
  }
}
