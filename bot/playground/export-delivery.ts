// Export delivery in the playground: the export worker's progress message and the finished CSV land in
// the requester's playground inbox, the file as a download link. The file is kept in the store
// (`playground_files`) byte for byte as written, so `custos export trace` identifies a downloaded copy.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Connection } from 'mongoose';
import type { Employee } from '../core/domain.ts';
import { t } from '../core/messages.ts';
import { noticeView } from '../core/views.ts';
import type { ExportDelivery } from '../../workers/export/job.ts';
import { escapeHtml, renderViewHtml } from './html.ts';
import { newRef, type PlaygroundInbox } from './inbox.ts';

export const DOWNLOAD_PATH = '/playground/download';
const COLLECTION = 'playground_files';

interface FileDoc { _id: string; employeeId: string; filename: string; data: Buffer; at: Date }

export class PlaygroundFiles {
  constructor(private readonly conn: Connection) {}

  private get docs() { return this.conn.collection<FileDoc>(COLLECTION); }

  async put(employeeId: string, filename: string, data: Buffer): Promise<string> {
    const id = randomBytes(18).toString('base64url');
    await this.docs.insertOne({ _id: id, employeeId, filename, data, at: new Date() });
    return id;
  }

  async get(id: string): Promise<{ filename: string; data: Buffer } | null> {
    const doc = await this.docs.findOne({ _id: id });
    if (!doc) return null;
    // The driver hands binary data back as a BSON Binary.
    const raw = doc.data as unknown as Buffer | { buffer: Uint8Array };
    return { filename: doc.filename, data: Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer) };
  }
}

export class PlaygroundExportDelivery implements ExportDelivery {
  constructor(private readonly inbox: PlaygroundInbox, private readonly files: PlaygroundFiles) {}

  async start(to: Employee, text: string): Promise<{ employeeId: string; ref: string }> {
    const handle = { employeeId: to.employeeId, ref: newRef('export') };
    await this.inbox.push(handle.employeeId, handle.ref, { kind: 'notice', html: renderViewHtml(noticeView(text)) });
    return handle;
  }

  async progress(handle: unknown, text: string): Promise<void> {
    const h = handle as { employeeId: string; ref: string };
    await this.inbox.push(h.employeeId, h.ref, { kind: 'notice', html: renderViewHtml(noticeView(text)) });
  }

  async upload(to: Employee, file: string, filename: string, title: string): Promise<string> {
    const id = await this.files.put(to.employeeId, filename, await readFile(file));
    const href = `${DOWNLOAD_PATH}?id=${id}`;
    const label = t('playground.download', to.locale, { title, filename });
    await this.inbox.push(to.employeeId, newRef('file'), {
      kind: 'download',
      html: `<p class="notice notice-info download" data-kind="download"><a href="${escapeHtml(href)}" download="${escapeHtml(filename)}">${escapeHtml(label)}</a></p>`,
    });
    return id;
  }
}
