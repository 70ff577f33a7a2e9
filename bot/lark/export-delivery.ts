// Export delivery on Lark (bot/runtime/chat-export-delivery.ts): a progress card in the requester's chat
// with the bot (sent by open_id, patched as rows are written) and the CSV uploaded with im.file.create,
// then sent as a file message. Lark takes files up to 30 MB; a larger export fails with LarkApiError
// 234006 before anything is uploaded (the job fails and the requester's progress card says so through the
// worker's retry path).
import { noticeView } from '../core/views.ts';
import { ChatExportDelivery } from '../runtime/chat-export-delivery.ts';
import type { LarkApi } from './api.ts';
import { renderView } from './cards.ts';

export function larkExportDelivery(api: LarkApi): ChatExportDelivery<{ messageId: string }> {
  return new ChatExportDelivery('lark', {
    post: async (openId, text) => ({ messageId: await api.sendCard('open_id', openId, renderView(noticeView(text))) }),
    edit: async (h, text) => { if (h.messageId) await api.patchCard(h.messageId, renderView(noticeView(text))); },
    // One file per export: the uuid keeps a retried send from posting the file twice.
    send: (openId, filename, bytes) => api.sendFile('open_id', openId, filename, bytes, `xf-${filename}`),
  });
}
