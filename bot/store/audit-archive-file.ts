// Archive bundles on disk: gzip (node:zlib) JSON lines, written to `<file>.partial`, flushed and then
// renamed, so a bundle under its final name is always complete. Reading gunzips as a stream (constant
// memory); a damaged file (a flipped byte fails gzip's CRC or its deflate stream) is named as such.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { once } from 'node:events';
import { createGunzip, createGzip } from 'node:zlib';
import { checkBundle, type BundleCheck } from '../core/audit-archive.ts';

/** Writes lines to a gzip file; `close` flushes it to disk and only then gives it its final name. */
export class BundleWriter {
  private readonly gzip = createGzip({ level: 6 });
  private readonly out: ReturnType<typeof createWriteStream>;
  private readonly done: Promise<void>;

  private constructor(private readonly file: string) {
    this.out = createWriteStream(`${file}.partial`);
    this.gzip.pipe(this.out);
    this.done = once(this.out, 'finish').then(() => undefined);
  }

  static async create(file: string): Promise<BundleWriter> {
    await mkdir(path.dirname(file), { recursive: true });
    return new BundleWriter(file);
  }

  async line(text: string): Promise<void> {
    if (!this.gzip.write(`${text}\n`, 'utf8')) await once(this.gzip, 'drain');
  }

  async close(): Promise<void> {
    this.gzip.end();
    await this.done;
    const fh = await open(`${this.file}.partial`, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
    await rename(`${this.file}.partial`, this.file);
  }
}

/**
 * The bundle's lines, gunzipped as they are read. Iterating the gunzip stream itself (not readline)
 * makes a damaged file fail the loop, including a bad CRC found only at the end.
 */
export async function* bundleLines(file: string): AsyncIterable<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const gunzip = createGunzip();
  // pipeline, not pipe: a read error (no such file) must end the gunzip stream with it, not hang it.
  pipeline(createReadStream(file), gunzip, () => undefined);
  for await (const chunk of gunzip) {
    const parts = (rest + decoder.write(chunk as Buffer)).split('\n');
    rest = parts.pop()!;
    yield* parts;
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

/** Checks a bundle file alone; an unreadable or damaged file is a failed check, named. */
export async function checkBundleFile(file: string, signingKey: Buffer): Promise<BundleCheck> {
  try {
    // The gzip layer first (its CRC is only checked at the end): a damaged file is named as such,
    // rather than by whichever line the damage happens to garble.
    for await (const _ of bundleLines(file)) { /* read to the end */ }
    return await checkBundle(() => bundleLines(file), signingKey);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') return { ok: false, problem: `${file} cannot be read (${e.code})` };
    if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
      return { ok: false, problem: `the file is not a readable gzip stream (${e.code}: ${e.message}): it was damaged or altered` };
    }
    if (err instanceof SyntaxError) return { ok: false, problem: 'a line is not JSON: the bundle was altered' };
    throw err;
  }
}

/** SHA-256 (hex) of the file's bytes: what the archive record and the audit.archive event name. */
export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
