// The lookup card's request buttons carry small JSON values we wrote (`{"c":"C-…","f":"phone"}`, see
// views.ts requestButtons); every adapter parses them here, and anything else is refused as malformed.
import type { CustomerField } from '../domain.ts';
import { ApprovalRefused } from './errors.ts';
import type { RequestTarget } from './types.ts';

export function parseRequestButton(kind: 'reveal' | 'access', value: string): Exclude<RequestTarget, { kind: 'export' }> {
  let parsed: unknown;
  try { parsed = JSON.parse(value); } catch { throw new ApprovalRefused('malformed'); }
  const o = parsed as { c?: unknown; f?: unknown };
  if (!o || typeof o !== 'object' || typeof o.c !== 'string' || !/^C-\d{1,12}$/.test(o.c)) throw new ApprovalRefused('malformed');
  if (kind === 'reveal') {
    if (typeof o.f !== 'string' || !/^[a-zA-Z]{1,32}$/.test(o.f)) throw new ApprovalRefused('malformed');
    return { kind: 'reveal', customerId: o.c, field: o.f as CustomerField };
  }
  return { kind: 'access', customerId: o.c };
}

/** Request ids as newRequestId makes them; checked before any store is asked. */
export const REQUEST_ID = /^R-[A-P]{10}$/;
