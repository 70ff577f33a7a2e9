// The one-file zip DingTalk exports travel in (bot/core/zip.ts), read back by the tests' own reader of
// the ZIP format (test/fakes/dingtalk.ts `unzipOne`, written apart from the writer): any bytes and any
// UTF-8 name come back whole, the CRC-32 and sizes agree, and the central directory points at the entry.
import test from 'ava';
import fc from 'fast-check';
import { zipOne } from '../bot/core/zip.ts';
import { unzipOne } from './fakes/dingtalk.ts';

test('zipOne: any content and name round-trips through an independent reader, with a consistent central directory', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((n) => n !== '__proto__'), fc.date({ min: new Date('1980-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), (bytes, name, at) => {
    const data = Buffer.from(bytes);
    const zip = zipOne(name, data, at);
    t.deepEqual(unzipOne(zip), data);
    const end = zip.length - 22;
    t.is(zip.readUInt32LE(end), 0x06054b50, 'end of central directory record last');
    const central = zip.readUInt32LE(end + 16);
    t.is(zip.readUInt32LE(central), 0x02014b50, 'the record points at the central entry');
    t.is(zip.subarray(central + 46, end).toString('utf8'), name, 'the central entry names the file, up to the end record');
    t.is(zip.readUInt32LE(central + 16), zip.readUInt32LE(14), 'the same CRC-32 in both headers');
  }), { numRuns: 200 });
});

test('a CSV export with a byte-order mark and Chinese text comes back byte for byte', (t) => {
  const csv = Buffer.from('\ufeff姓名,电话\r\n张三,138****0000\r\n', 'utf8');
  t.deepEqual(unzipOne(zipOne('custos-export-X-ABCDEFGHIJ.csv', csv, new Date('2026-06-30T02:30:00Z'))), csv);
});

test('a file name fflate cannot hold is refused, not lost', (t) => {
  t.throws(() => zipOne('__proto__', Buffer.from('x'), new Date('2026-06-30T02:30:00Z')), { message: /__proto__/ });
});
