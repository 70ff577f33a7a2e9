// E-mail addresses (REFERENCE §8): the domain is kept, the local part is reduced to its first
// character (default), nothing (strict) or its first three characters (loose).
import { REDACTED, codePoints, type Strength } from './text.ts';

const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;

export function maskEmail(value: unknown, strength: Strength): string {
  if (typeof value !== 'string') return REDACTED;
  const v = value.normalize('NFKC').trim();
  const parts = v.split('@');
  if (parts.length !== 2) return REDACTED;
  const [local, domain] = parts as [string, string];
  if (local === '' || !DOMAIN.test(domain)) return REDACTED;
  const keep = strength === 'strict' ? 0 : strength === 'loose' ? 3 : 1;
  const chars = codePoints(local);
  // Never show the whole local part: a 1-character local part keeps nothing.
  const kept = chars.slice(0, Math.min(keep, chars.length - 1)).join('');
  return `${kept}***@${domain}`;
}
