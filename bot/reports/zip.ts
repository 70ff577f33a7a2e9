// A minimal ZIP writer for the compliance pack delivered in chat (one file holding the pack's files).
// Why our own: no installed package writes ZIP (node_modules has tar only; fflate, jszip, yazl and
// archiver are not dependencies and none can be added), and node's zlib deflates but writes no ZIP
// container. What is written is the plain PKZIP layout (APPNOTE 6.3.x §4.3): per entry a local file
// header, the deflated data (method 8, or stored, method 0, when deflating does not shrink it), then
// the central directory and its end record. UTF-8 names (general-purpose flag bit 11), CRC-32 from
// zlib, one modification time for every entry (the report's), so the same files give the same bytes.
// No ZIP64: a pack over 4 GiB or 65,535 files is refused (a report is far smaller).
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry { name: string; data: Buffer }

const UTF8_NAMES = 0x0800;
const VERSION = 20; // 2.0: deflate

/** DOS date and time (local fields, two-second precision) of `at`, read as UTC for every reader alike. */
function dosTime(at: Date): { time: number; date: number } {
  const year = Math.min(Math.max(at.getUTCFullYear(), 1980), 2107);
  return {
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | Math.floor(at.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
  };
}

function header(size: number, fields: [number, 2 | 4][]): Buffer {
  const b = Buffer.alloc(size);
  let o = 0;
  for (const [v, n] of fields) { if (n === 2) b.writeUInt16LE(v, o); else b.writeUInt32LE(v >>> 0, o); o += n; }
  return b;
}

/** The ZIP archive of `entries`, in order, each dated `at`. */
export function zipFiles(entries: readonly ZipEntry[], at: Date): Buffer {
  if (entries.length > 0xffff) throw new Error('too many files for a ZIP without ZIP64');
  const { time, date } = dosTime(at);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const deflated = deflateRawSync(e.data, { level: 9 });
    const [method, body] = deflated.length < e.data.length ? [8, deflated] : [0, e.data];
    const crc = crc32(e.data);
    if (offset + body.length > 0xfffffffe || e.data.length > 0xfffffffe) throw new Error('a file too large for a ZIP without ZIP64');
    const common: [number, 2 | 4][] = [[VERSION, 2], [UTF8_NAMES, 2], [method, 2], [time, 2], [date, 2], [crc, 4], [body.length, 4], [e.data.length, 4], [name.length, 2], [0, 2]];
    const local = Buffer.concat([header(30, [[0x04034b50, 4], ...common]), name, body]);
    centrals.push(Buffer.concat([header(46, [[0x02014b50, 4], [VERSION, 2], ...common, [0, 2], [0, 2], [0, 2], [0, 4], [offset, 4]]), name]));
    locals.push(local);
    offset += local.length;
  }
  const central = Buffer.concat(centrals);
  const end = header(22, [[0x06054b50, 4], [0, 2], [0, 2], [entries.length, 2], [entries.length, 2], [central.length, 4], [offset, 4], [0, 2]]);
  return Buffer.concat([...locals, central, end]);
}
