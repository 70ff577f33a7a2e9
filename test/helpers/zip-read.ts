// Reads a ZIP as a person's unzip tool would (for tests of the pack delivered in chat): the central
// directory from the end record, then each entry's local header and data, inflated (method 8) or as
// stored (0), its CRC-32 checked. Written from the PKZIP layout (APPNOTE §4.3), independent of the
// writer under test (bot/core/zip.ts, fflate).
import { crc32, inflateRawSync } from 'node:zlib';

export interface ZipRead { name: string; data: Buffer; method: number; utf8: boolean }

export function readZip(zip: Buffer): ZipRead[] {
  const endAt = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (endAt < 0) throw new Error('not a ZIP: no end of central directory');
  const count = zip.readUInt16LE(endAt + 10);
  let p = zip.readUInt32LE(endAt + 16);
  const out: ZipRead[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central header ${i}`);
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataAt, dataAt + zip.readUInt32LE(local + 18));
    const data = method === 8 ? inflateRawSync(raw) : method === 0 ? Buffer.from(raw) : null;
    if (!data) throw new Error(`${name}: method ${method} not read`);
    if (crc32(data) !== crc) throw new Error(`${name}: CRC mismatch`);
    if (data.length !== zip.readUInt32LE(p + 24)) throw new Error(`${name}: size mismatch`);
    void size;
    out.push({ name, data, method, utf8: (flags & 0x0800) !== 0 });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
