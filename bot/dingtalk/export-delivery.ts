// Export delivery on DingTalk (bot/runtime/chat-export-delivery.ts): a progress card in the requester's
// 1:1 robot chat (updated in place as rows are written), then the file: DingTalk's media upload takes doc,
// docx, xls, xlsx, ppt, pptx, zip, pdf and rar but not csv, so the CSV goes inside a .zip of the same name
// (bot/core/zip.ts), uploaded (/media/upload, type=file) and sent as a `sampleFile` robot message
// (oToMessages/batchSend); the zip's media_id is what the export record keeps.
import { noticeView } from '../core/views.ts';
import { zipOne } from '../core/zip.ts';
import { ChatExportDelivery } from '../runtime/chat-export-delivery.ts';
import type { DingTalkCards } from './card-delivery.ts';
import { renderView } from './cards.ts';

export function dingtalkExportDelivery(cards: DingTalkCards, now: () => Date = () => new Date()): ChatExportDelivery<{ outTrackId: string; space: string }> {
  const notice = (text: string) => renderView(noticeView(text));
  return new ChatExportDelivery('dingtalk', {
    post: async (userId, text) => ({ outTrackId: await cards.deliver({ kind: 'robot', userId }, notice(text)), space: `robot:${userId}` }),
    edit: (h, text) => cards.update(h.outTrackId, h.space, notice(text)),
    send: async (userId, filename, bytes) => {
      const zipName = filename.replace(/\.csv$/, '.zip');
      const mediaId = await cards.api.uploadFile(zipName, zipOne(filename, bytes, now()));
      await cards.api.sendFile(userId, mediaId, zipName);
      return mediaId;
    },
  });
}
