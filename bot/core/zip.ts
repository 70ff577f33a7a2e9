// ZIP archives, written by fflate (a small, dependency-free, widely used (de)compression library; node's
// zlib deflates but writes no ZIP container). Used where a platform or a report needs one file holding
// files: DingTalk's media upload takes zip but not csv, so an export travels as its CSV inside a .zip
// (README: DingTalk setup); the compliance pack asked in chat is one ZIP of the pack's files. Entries are
// deflated at level 9; every entry carries one modification time, so the same files give the same bytes
// (ZIP stores local time: fflate reads `at` in the process's zone). UTF-8 names; no ZIP64.
import { zipSync, type Zippable } from 'fflate';

export interface ZipEntry { name: string; data: Buffer }

/** The ZIP archive of `entries`, in order, each dated `at` (1980–2099, ZIP's date range). */
export function zipFiles(entries: readonly ZipEntry[], at: Date): Buffer {
  const files: Zippable = Object.create(null) as Zippable; // a name like `valueOf` or `__proto__` is a file name
  for (const e of entries) {
    // fflate collects entries in a plain object internally, where `__proto__` is no key; custos names its
    // files itself (exports, report files), so such a name is a bug to report, not a file to lose.
    if (e.name === '__proto__') throw new Error('a ZIP entry may not be named __proto__');
    if (Object.hasOwn(files, e.name)) throw new Error(`two files named ${e.name} in one ZIP`);
    files[e.name] = [new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), { level: 9, mtime: at }];
  }
  return Buffer.from(zipSync(files));
}

/** The ZIP archive of one file. */
export function zipOne(name: string, data: Buffer, at: Date): Buffer {
  return zipFiles([{ name, data }], at);
}
