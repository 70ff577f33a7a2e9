// Resident ID numbers, bank cards and birth dates (REFERENCE §8). The birth-date digits of an ID
// number (7–14 of 18, 7–12 of the old 15-digit form) are always inside the masked part.
import { MASKED, digitsOf, isAsciiDigits, stars, type Strength } from './text.ts';

export function normaliseIdNumber(raw: string): string | undefined {
  const v = raw.normalize('NFKC').replace(/\s/g, '').toUpperCase();
  return /^[0-9]{17}[0-9X]$/.test(v) || /^[0-9]{15}$/.test(v) ? v : undefined;
}

export function maskIdNumber(raw: string, strength: Strength): string {
  const v = normaliseIdNumber(raw);
  if (!v) return strength === 'loose' ? raw : MASKED;
  if (strength === 'loose') return v;
  if (strength === 'strict') return `${v.slice(0, 1)}${stars(v.length - 3)}${v.slice(-2)}`;
  return `${v.slice(0, 6)}${stars(v.length - 10)}${v.slice(-4)}`;
}

export function normaliseBankCard(raw: string): string | undefined {
  const d = digitsOf(raw);
  return isAsciiDigits(d, 16, 19) ? d : undefined;
}

export function maskBankCard(raw: string, strength: Strength): string {
  const d = normaliseBankCard(raw);
  if (!d) return MASKED; // even the looser variant keeps only 8 digits, so never echo unknown input
  if (strength === 'strict') return `${stars(d.length - 4)}${d.slice(-4)}`;
  if (strength === 'loose') return `${d.slice(0, 4)}${stars(d.length - 8)}${d.slice(-4)}`;
  return `${d.slice(0, 6)}${stars(d.length - 10)}${d.slice(-4)}`;
}

/** YYYY-MM-DD from a Date or a string written as YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD. */
export function normaliseDate(value: unknown): { y: string; m: string; d: string } | undefined {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return undefined;
    const iso = value.toISOString();
    return { y: iso.slice(0, 4), m: iso.slice(5, 7), d: iso.slice(8, 10) };
  }
  if (typeof value !== 'string') return undefined;
  const v = value.normalize('NFKC').trim();
  const m = /^([0-9]{4})[-/.]?([0-9]{2})[-/.]?([0-9]{2})$/.exec(v);
  if (!m) return undefined;
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  return { y: m[1]!, m: m[2]!, d: m[3]! };
}

export function maskBirthDate(value: unknown, strength: Strength): string {
  const date = normaliseDate(value);
  if (!date || strength === 'strict') return '****-**-**';
  if (strength === 'loose') return `${date.y}-${date.m}-${date.d}`;
  return `****-${date.m}-${date.d}`;
}

/** Year and month only, for timestamps such as lastContactAt. */
export function maskMonth(value: unknown): string {
  const date = normaliseDate(value instanceof Date ? value : typeof value === 'string' ? value.slice(0, 10) : undefined);
  return date ? `${date.y}-${date.m}` : '****-**';
}

export { MASKED };
