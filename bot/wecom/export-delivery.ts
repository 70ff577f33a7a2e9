// Export delivery on WeCom: the file into the requester's one-to-one chat with the app (api.sendFile:
// media/upload, then a `file` message). A WeCom message cannot be edited, so progress is not counted
// in place: the requester reads "exporting" when it starts and the final line once the file is there;
// the counts in between (one per 5,000 rows) are left out rather than sent as a message each.
// A file over WeCom's 20 MB fails before upload (WeComApiError 40006), and the job fails as on Lark.
import { readFile } from 'node:fs/promises';
import type { Employee } from '../core/domain.ts';
import type { ExportDelivery } from '../runtime/platform-module.ts';
import type { WeComApi } from './api.ts';
import { clipBytes, LIMITS } from './render.ts';

export class WeComExportDelivery implements ExportDelivery {
  /** Requesters whose file was sent and whose final line is due (the export worker runs one job at a time). */
  private readonly delivered = new Set<string>();

  constructor(private readonly api: WeComApi) {}

  async start(to: Employee, text: string): Promise<{ userId: string; employeeId: string }> {
    const userId = to.chat.wecom;
    if (!userId) throw new Error('requester has no WeCom identity');
    await this.api.sendText(userId, clipBytes(text, LIMITS.textBytes));
    return { userId, employeeId: to.employeeId };
  }

  async progress(handle: unknown, text: string): Promise<void> {
    const h = handle as { userId: string; employeeId: string };
    if (this.delivered.delete(h.employeeId)) await this.api.sendText(h.userId, clipBytes(text, LIMITS.textBytes)).catch(() => undefined);
  }

  async upload(to: Employee, file: string, filename: string): Promise<string | undefined> {
    if (!to.chat.wecom) throw new Error('requester has no WeCom identity');
    const { mediaId } = await this.api.sendFile(to.chat.wecom, filename, await readFile(file));
    this.delivered.add(to.employeeId);
    return mediaId;
  }
}
