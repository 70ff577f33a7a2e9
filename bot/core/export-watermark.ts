// Export watermarks, pure. Three layers, so a leaked file can be traced even after editing:
//  1. visible header and footer lines (export id, employee, time) — removed easily, deter casually;
//  2. a canary row: a synthetic customer, masked like the real rows, at a position derived from the
//     export id — whoever receives the canary's id in a leak points to this export;
//  3. an invisible per-recipient marker in EVERY row: zero-width characters appended to the customer id
//     cell, encoding a random tag id plus a MAC over (tag, export id, employee id). Removing header and
//     footer, re-sorting or cutting to a subset keeps it; the MAC stops anyone forging another employee's
//     marker without the key.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Four zero-width code points: two bits each. Excel, Numbers and LibreOffice keep them in cells. */
export const ZERO_WIDTH = ['\u200B', '\u200C', '\u200D', '\u2060'] as const;
const TAG_BYTES = 6;
const MAC_BYTES = 4;
export const MARKER_CHARS = (TAG_BYTES + MAC_BYTES) * 4;
// Alternation, not a character class: ZWJ inside a class reads as a joined sequence (and lint says so).
const MARKER_RE = new RegExp(`(?:${ZERO_WIDTH.join('|')}){${MARKER_CHARS}}`, 'g');

/** The watermark key, derived from the audit HMAC key so no new secret is needed. */
export function watermarkKey(auditHmacKey: Buffer): Buffer {
  return createHmac('sha256', auditHmacKey).update('custos-export-watermark-v1').digest();
}

export function newTagId(): string {
  return randomBytes(TAG_BYTES).toString('hex');
}

function mac(key: Buffer, tagId: string, exportId: string, employeeId: string): Buffer {
  return createHmac('sha256', key).update(`${tagId}|${exportId}|${employeeId}`).digest().subarray(0, MAC_BYTES);
}

export function encodeMarker(key: Buffer, tagId: string, exportId: string, employeeId: string): string {
  const bytes = Buffer.concat([Buffer.from(tagId, 'hex'), mac(key, tagId, exportId, employeeId)]);
  let out = '';
  for (const b of bytes) for (let shift = 6; shift >= 0; shift -= 2) out += ZERO_WIDTH[(b >> shift) & 3];
  return out;
}

function decodeMarker(marker: string): { tagId: string; mac: Buffer } {
  const bytes = Buffer.alloc(TAG_BYTES + MAC_BYTES);
  for (let i = 0; i < bytes.length; i++) {
    let b = 0;
    for (let j = 0; j < 4; j++) b = (b << 2) | ZERO_WIDTH.indexOf(marker[i * 4 + j] as (typeof ZERO_WIDTH)[number]);
    bytes[i] = b;
  }
  return { tagId: bytes.subarray(0, TAG_BYTES).toString('hex'), mac: bytes.subarray(TAG_BYTES) };
}

/** Every marker in a text with how many times it occurs (a leak normally carries one). */
export function findMarkers(text: string): { tagId: string; mac: Buffer; count: number }[] {
  const counts = new Map<string, number>();
  for (const m of text.match(MARKER_RE) ?? []) counts.set(m, (counts.get(m) ?? 0) + 1);
  return [...counts].map(([m, count]) => ({ ...decodeMarker(m), count })).sort((a, b) => b.count - a.count);
}

export function verifyMarker(key: Buffer, found: { tagId: string; mac: Buffer }, exportId: string, employeeId: string): boolean {
  const expected = mac(key, found.tagId, exportId, employeeId);
  return expected.length === found.mac.length && timingSafeEqual(expected, found.mac);
}

/** Where the canary row goes among `rows` real rows (deterministic per export, never first or last when avoidable). */
export function canaryPosition(key: Buffer, exportId: string, rows: number): number {
  if (rows <= 2) return Math.min(rows, 1);
  const h = createHmac('sha256', key).update(`canary-pos|${exportId}`).digest().readUInt32BE(0);
  return 1 + (h % (rows - 1));
}

/** A deterministic seed for the canary customer's synthetic values. */
export function canarySeed(key: Buffer, exportId: string): string {
  return createHmac('sha256', key).update(`canary|${exportId}`).digest('hex').slice(0, 16);
}

/** Customer ids appearing in a CSV text (for canary matching after zero-width characters were stripped). */
export function customerIdsIn(text: string): Set<string> {
  return new Set(text.match(/C-\d{1,12}/g) ?? []);
}

/** CSV cell: quoted when needed; formula-looking values defused with a leading apostrophe (CSV injection). */
export function csvCell(value: string): string {
  const v = /^[=+@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export const UTF8_BOM = '\uFEFF';
