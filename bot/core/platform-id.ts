// A chat platform's id ('slack', 'lark', 'wecom', …) is an open string, not a closed union: the set of
// platforms is the registry's (bot/platforms.ts), so adding one touches no type in core, store or audit.
// Ids are checked where they enter: the registry refuses an unknown one, stored and audited ids must
// match PLATFORM_ID_RE (also a safe MongoDB path segment: no '.', no '$').
import { z } from 'zod';

export type PlatformId = string;

/** Lower-case letter first, then letters, digits or '-'; 2–32 characters. */
export const PLATFORM_ID_RE = /^[a-z][a-z0-9-]{1,31}$/;

export const platformIdSchema = z.string().regex(PLATFORM_ID_RE, 'must be a platform id (a-z, 0-9, -; 2–32 characters, a letter first)');

export function isPlatformId(value: unknown): value is PlatformId {
  return typeof value === 'string' && PLATFORM_ID_RE.test(value);
}
