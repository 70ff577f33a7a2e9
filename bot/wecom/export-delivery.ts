// Export delivery on WeCom (bot/runtime/chat-export-delivery.ts): the file into the requester's chat with
// the app (api.sendFile). A message cannot be edited, so the requester reads "exporting" at the start and
// the final line once the file is there; the counts in between (one per 5,000 rows) would each be a
// message, and are left out. Over WeCom's 20 MB the file fails before upload (WeComApiError 40006) and the
// job fails, as on Lark.
import { ChatExportDelivery } from '../runtime/chat-export-delivery.ts';
import type { WeComApi } from './api.ts';
import { clipBytes, LIMITS } from './render.ts';

/** The handle of a requester's export is their userid: the one thing a later message needs. */
export function wecomExportDelivery(api: WeComApi): ChatExportDelivery<string> {
  // Requesters whose file was sent and whose final line is due (the export worker runs one job at a time).
  const delivered = new Set<string>();
  const say = (userId: string, text: string) => api.sendText(userId, clipBytes(text, LIMITS.textBytes));
  return new ChatExportDelivery('wecom', {
    post: async (userId, text) => { await say(userId, text); return userId; },
    edit: async (userId, text) => { if (delivered.delete(userId)) await say(userId, text); },
    send: async (userId, filename, bytes) => {
      const { mediaId } = await api.sendFile(userId, filename, bytes);
      delivered.add(userId);
      return mediaId;
    },
  });
}
