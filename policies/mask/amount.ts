// Amounts in CNY (REFERENCE §8): shown as a band by default, hidden (strict) or exact (loose).
import { REDACTED, type Strength } from './text.ts';

const WAN = 10_000;
/** Upper bounds (exclusive) and labels of the bands, ascending. */
const BANDS: [number, string][] = [
  [1 * WAN, '¥0–1万'],
  [5 * WAN, '¥1万–5万'],
  [10 * WAN, '¥5万–10万'],
  [50 * WAN, '¥10万–50万'],
  [100 * WAN, '¥50万–100万'],
  [500 * WAN, '¥100万–500万'],
  [1000 * WAN, '¥500万–1000万'],
];

/** Built once: `toLocaleString` with options builds a number formatter on every call (~0.1 ms a lookup). */
const EXACT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

export function amountBand(amount: number): string {
  const abs = Math.abs(amount);
  const label = BANDS.find(([limit]) => abs < limit)?.[1] ?? '¥1000万以上';
  return amount < 0 ? `−${label}` : label;
}

export function maskAmount(value: unknown, strength: Strength): string {
  const n = numberOf(value);
  if (n === undefined || strength === 'strict') return REDACTED;
  if (strength === 'loose') return `¥${EXACT.format(n)}`;
  return amountBand(n);
}
