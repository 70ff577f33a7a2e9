// Export delivery on Lark: a progress card in the requester's chat with the bot (sent by open_id,
// patched as rows are written) and the CSV uploaded with im.file.create, then sent as a file message.
// Lark takes files up to 30 MB; a larger export fails with LarkApiError 234006 before anything is
// uploaded (the job fails and the requester's progress card says so through the worker's retry path).
import { readFile } from 'node:fs/promises';
import type { Employee } from '../core/domain.ts';
import { noticeView } from '../core/views.ts';
import type { LarkApi } from './api.ts';
import { renderView } from './cards.ts';
import type { ExportDelivery } from '../runtime/platform-module.ts';

export class LarkExportDelivery implements ExportDelivery {
  constructor(private readonly api: LarkApi) {}

  private openId(to: Employee): string {
    if (!to.chat.lark) throw new Error('requester has no Lark identity');
    return to.chat.lark;
  }

  async start(to: Employee, text: string): Promise<{ messageId: string }> {
    return { messageId: await this.api.sendCard('open_id', this.openId(to), renderView(noticeView(text))) };
  }

  async progress(handle: unknown, text: string): Promise<void> {
    const h = handle as { messageId: string };
    if (h.messageId) await this.api.patchCard(h.messageId, renderView(noticeView(text))).catch(() => undefined);
  }

  async upload(to: Employee, file: string, filename: string): Promise<string | undefined> {
    // One file per export: the uuid keeps a retried send from posting the file twice.
    return this.api.sendFile('open_id', this.openId(to), filename, await readFile(file), `xf-${filename}`);
  }
}
