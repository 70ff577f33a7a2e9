// Shared helpers for the masking presets: normalisation of unusual input and the fixed placeholders.
// Every preset works on code points (Array.from), never on UTF-16 units, so a surrogate pair is never
// split into a lone half that could be re-joined with its partner elsewhere in the output.

/** What any preset returns for input it does not recognise: it keeps nothing of the value. */
export const MASKED = '****';
/** The placeholder for a value that is hidden or cannot be shown in a masked form at all. */
export const REDACTED = '***';

/** Fold full-width digits and letters to ASCII (NFKC) and drop separators people type inside numbers. */
export function digitsOf(value: string): string {
  return value.normalize('NFKC').replace(/[\s\-().·/_]/g, '');
}

export function isAsciiDigits(value: string, min: number, max: number): boolean {
  return value.length >= min && value.length <= max && /^[0-9]+$/.test(value);
}

export function stars(count: number): string {
  return '*'.repeat(Math.max(1, count));
}

export function codePoints(value: string): string[] {
  return Array.from(value);
}

/** Strings pass through; numbers become their decimal form; anything else (dates, arrays, objects) is not text. */
export function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

export type Strength = 'default' | 'strict' | 'loose';
