// Export delivery on Slack: a progress message in the requester's DM (chat.update as rows are written)
// and the file uploaded into that DM with files.uploadV2 (getUploadURLExternal → upload →
// completeUploadExternal).
import type { webApi } from '@slack/bolt';
import type { Employee } from '../core/domain.ts';
import type { ExportDelivery } from '../runtime/platform-module.ts';

export class SlackExportDelivery implements ExportDelivery {
  constructor(private readonly client: webApi.WebClient) {}

  private async dm(to: Employee): Promise<string> {
    if (!to.chat.slack) throw new Error('requester has no Slack identity');
    const res = await this.client.conversations.open({ users: to.chat.slack });
    if (!res.channel?.id) throw new Error('no DM channel');
    return res.channel.id;
  }

  async start(to: Employee, text: string): Promise<{ channel: string; ts: string }> {
    const channel = await this.dm(to);
    const res = await this.client.chat.postMessage({ channel, text });
    return { channel, ts: res.ts ?? '' };
  }

  async progress(handle: unknown, text: string): Promise<void> {
    const h = handle as { channel: string; ts: string };
    await this.client.chat.update({ channel: h.channel, ts: h.ts, text }).catch(() => undefined);
  }

  async upload(to: Employee, file: string, filename: string, title: string): Promise<string | undefined> {
    const channel = await this.dm(to);
    const res = await this.client.filesUploadV2({ channel_id: channel, file, filename, title });
    const files = (res as { files?: { files?: { id?: string }[] }[] }).files;
    return files?.[0]?.files?.[0]?.id;
  }
}
