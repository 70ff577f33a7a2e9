// Export delivery on DingTalk: a progress card in the requester's 1:1 robot chat (updated in place as
// rows are written), then the file: DingTalk's media upload takes doc, docx, xls, xlsx, ppt, pptx, zip,
// pdf and rar but not csv, so the CSV goes inside a .zip of the same name (bot/core/zip.ts), uploaded
// (/media/upload, type=file) and sent as a `sampleFile` robot message (oToMessages/batchSend).
import { readFile } from 'node:fs/promises';
import type { Employee } from '../core/domain.ts';
import { noticeView } from '../core/views.ts';
import { zipOne } from '../core/zip.ts';
import type { ExportDelivery } from '../runtime/platform-module.ts';
import type { DingTalkCards } from './card-ledger.ts';
import { renderView } from './cards.ts';

export class DingTalkExportDelivery implements ExportDelivery {
  constructor(private readonly cards: DingTalkCards, private readonly now: () => Date = () => new Date()) {}

  private userId(to: Employee): string {
    if (!to.chat.dingtalk) throw new Error('requester has no DingTalk identity');
    return to.chat.dingtalk;
  }

  async start(to: Employee, text: string): Promise<{ outTrackId: string; space: string }> {
    const userId = this.userId(to);
    return { outTrackId: await this.cards.deliver({ kind: 'robot', userId }, renderView(noticeView(text))), space: `robot:${userId}` };
  }

  async progress(handle: unknown, text: string): Promise<void> {
    const h = handle as { outTrackId: string; space: string };
    await this.cards.update(h.outTrackId, h.space, renderView(noticeView(text))).catch(() => undefined);
  }

  /** The zip's media_id once sent (the export record keeps it). */
  async upload(to: Employee, file: string, filename: string): Promise<string> {
    const userId = this.userId(to);
    const zipName = filename.replace(/\.csv$/, '.zip');
    const mediaId = await this.cards.api.uploadFile(zipName, zipOne(filename, await readFile(file), this.now()));
    await this.cards.api.sendFile(userId, mediaId, zipName);
    return mediaId;
  }
}
