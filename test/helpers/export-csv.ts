// Reading a customer export's CSV in tests: one line's cells (RFC 4180 quoting) and the text of a cell
// without the invisible per-recipient marker (export-watermark.ts).
import { ZERO_WIDTH } from '../../bot/core/export-watermark.ts';

export const stripMarker = (s: string): string => s.replace(new RegExp(ZERO_WIDTH.join('|'), 'g'), '');

export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true; else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}
