// The ZIP of the compliance pack delivered in chat (one file holding the pack's files), written by
// fflate (a small, dependency-free, widely used (de)compression library; node's zlib deflates but writes
// no ZIP container). Entries are deflated at level 9 and stored when that does not shrink them; every
// entry carries one modification time (the report's), so the same files give the same bytes. UTF-8 names.
import { zipSync, type Zippable } from 'fflate';

export interface ZipEntry { name: string; data: Buffer }

/** The ZIP archive of `entries`, in order, each dated `at`. */
export function zipFiles(entries: readonly ZipEntry[], at: Date): Buffer {
  const files: Zippable = {};
  for (const e of entries) {
    if (e.name in files) throw new Error(`two files named ${e.name} in one ZIP`);
    files[e.name] = [new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), { level: 9, mtime: at }];
  }
  return Buffer.from(zipSync(files));
}
