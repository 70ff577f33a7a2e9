// Mobile and landline numbers (REFERENCE §8). Input may carry +86 / 0086, spaces, dashes, brackets or
// full-width digits; anything that is not a well-formed number after normalisation keeps nothing.
import { MASKED, digitsOf, isAsciiDigits, stars, type Strength } from './text.ts';

/** The 11-digit mainland mobile number, or undefined. */
export function normaliseMobile(raw: string): string | undefined {
  let d = digitsOf(raw);
  if (d.startsWith('+')) d = d.slice(1);
  if (d.length === 15 && d.startsWith('0086')) d = d.slice(4);
  else if (d.length === 13 && d.startsWith('86')) d = d.slice(2);
  return isAsciiDigits(d, 11, 11) && /^1[3-9]/.test(d) ? d : undefined;
}

/** A landline with its leading 0 (e.g. 0915xxxxxxx, 010xxxxxxxx), or undefined. */
export function normaliseLandline(raw: string): string | undefined {
  let d = digitsOf(raw);
  if (d.startsWith('+')) d = d.slice(1);
  if (d.startsWith('0086')) d = `0${d.slice(4)}`;
  else if (d.startsWith('86') && d.length >= 11 && d.length <= 13) d = `0${d.slice(2)}`;
  return isAsciiDigits(d, 10, 12) && /^0[1-9]/.test(d) ? d : undefined;
}

/** Beijing (010) and the 02x cities have 3-digit area codes; every other area code has 4 digits. */
function areaCodeLength(landline: string): number {
  return /^0(10|2[0-9])/.test(landline) ? 3 : 4;
}

export function maskMobile(raw: string, strength: Strength): string {
  const d = normaliseMobile(raw);
  if (!d) return strength === 'loose' ? raw : MASKED;
  if (strength === 'loose') return d;
  if (strength === 'strict') return `${stars(7)}${d.slice(7)}`;
  return `${d.slice(0, 3)}${stars(4)}${d.slice(7)}`;
}

export function maskLandline(raw: string, strength: Strength): string {
  const d = normaliseLandline(raw);
  if (!d) return strength === 'loose' ? raw : MASKED;
  if (strength === 'loose') return d;
  const area = areaCodeLength(d);
  if (strength === 'strict') return `${d.slice(0, area)}${stars(d.length - area)}`;
  return `${d.slice(0, area)}${stars(d.length - area - 2)}${d.slice(-2)}`;
}

/** Either kind: the `phone` field holds mobiles and landlines alike. */
export function maskPhone(raw: string, strength: Strength): string {
  if (normaliseMobile(raw)) return maskMobile(raw, strength);
  if (normaliseLandline(raw)) return maskLandline(raw, strength);
  return strength === 'loose' ? raw : MASKED;
}
