// An export delivered in the requester's chat with the bot, for a platform that can post a progress
// message, edit it in place and send a file (DingTalk, Lark; WeCom, whose messages cannot be edited,
// sends only the final line as a new one): the export worker's port (ExportDelivery) around those three
// calls. The requester must have an identity on the platform; a progress edit that fails is ignored (the
// file and the final line are what matter).
import { readFile } from 'node:fs/promises';
import type { Employee } from '../core/domain.ts';
import type { PlatformId } from '../core/platform-id.ts';
import type { ExportDelivery } from './platform-module.ts';

export interface ChatFileOps<H> {
  /** Posts the first progress text to `userId`; its handle is what later edits change. */
  post(userId: string, text: string): Promise<H>;
  edit(handle: H, text: string): Promise<void>;
  /** Sends the file to `userId`; the platform's id for it, which the export record keeps. */
  send(userId: string, filename: string, bytes: Buffer): Promise<string | undefined>;
}

export class ChatExportDelivery<H> implements ExportDelivery {
  constructor(private readonly platform: PlatformId, private readonly ops: ChatFileOps<H>) {}

  private userId(to: Employee): string {
    const id = to.chat[this.platform];
    if (!id) throw new Error(`requester has no ${this.platform} identity`);
    return id;
  }

  start(to: Employee, text: string): Promise<H> {
    return this.ops.post(this.userId(to), text);
  }

  async progress(handle: unknown, text: string): Promise<void> {
    await this.ops.edit(handle as H, text).catch(() => undefined);
  }

  async upload(to: Employee, file: string, filename: string): Promise<string | undefined> {
    return this.ops.send(this.userId(to), filename, await readFile(file));
  }
}
