// A zip archive of one file (PKWARE APPNOTE: local file header, the deflated data, one central directory
// entry, the end of central directory record; UTF-8 name flag; no ZIP64, so entries stay under 4 GB).
// For a platform that takes only some file types: DingTalk's media upload accepts zip but not csv, so
// an export is delivered as its CSV inside a .zip (README: DingTalk setup).
import { crc32, deflateRawSync } from 'node:zlib';

const UTF8_NAME = 0x0800;
const DEFLATE = 8;
const VERSION = 20;

/** MS-DOS time and date fields of `at` (UTC; two-second resolution, from 1980). */
function dosTime(at: Date): { time: number; date: number } {
  const year = Math.max(at.getUTCFullYear(), 1980);
  return {
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | Math.floor(at.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
  };
}

export function zipOne(name: string, data: Buffer, at: Date): Buffer {
  const packed = deflateRawSync(data);
  const fileName = Buffer.from(name, 'utf8');
  const { time, date } = dosTime(at);
  // The fields a local header and a central entry share, from "version needed" to the name's length.
  const common = Buffer.alloc(26);
  [VERSION, UTF8_NAME, DEFLATE, time, date].forEach((v, i) => common.writeUInt16LE(v, i * 2));
  common.writeUInt32LE(crc32(data), 10);
  common.writeUInt32LE(packed.length, 14);
  common.writeUInt32LE(data.length, 18);
  common.writeUInt16LE(fileName.length, 22);
  common.writeUInt16LE(0, 24); // no extra field
  const local = Buffer.concat([u32(0x04034b50), common, fileName, packed]);
  // Central entry: "version made by", the shared fields, then comment, disk, attributes and the local header's offset (0).
  const central = Buffer.concat([u32(0x02014b50), u16(VERSION), common, Buffer.alloc(14), fileName]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(local.length, 16);
  return Buffer.concat([local, central, end]);
}

function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }
function u16(v: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; }
