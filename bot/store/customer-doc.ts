// The ONE place where customers become stored documents and back: the personal values sealed under the
// customer's own data key, blind indexes, search tokens and the row digest on the way in; unwrapping and
// unsealing on the way out.
import { CUSTOMER_FIELDS, SENSITIVE_FIELDS, type Customer } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import { normaliseEmail, normaliseIdNumber, normalisePhone, type FieldCipher } from './crypto.ts';
import type { BlindIndexes, CustomerDoc } from './models.ts';
import { searchTokens } from './search-tokens.ts';

/** Plaintext fields copied 1:1 between the domain object and the document (closed sets and numbers). */
const PLAIN_FIELDS = CUSTOMER_FIELDS.filter((f) => !(SENSITIVE_FIELDS as readonly string[]).includes(f));

/** GCM additional data: binds a ciphertext to its customer and what it holds. */
export function encryptionContext(customerId: string, field: string): string {
  return `${customerId}:${field}`;
}

/** JSON with sorted keys and ISO dates, so equal customers always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function toCustomerDoc(c: Customer, cipher: FieldCipher): CustomerDoc {
  const doc: Record<string, unknown> = { customerId: c.customerId };
  for (const f of PLAIN_FIELDS) if (c[f] !== undefined) doc[f] = c[f];
  const personal: Record<string, unknown> = {};
  for (const f of SENSITIVE_FIELDS) if (c[f] !== undefined) personal[f] = c[f];
  const { key, wrapped } = cipher.newDataKey(c.customerId);
  doc.dek = wrapped;
  doc.kek = cipher.currentKeyId;
  doc.sealed = cipher.seal(key, JSON.stringify(personal), encryptionContext(c.customerId, 'sealed'));
  const bi: BlindIndexes = {};
  if (c.phone !== undefined) bi.biPhone = cipher.blindIndex('phone', normalisePhone(c.phone));
  if (c.email !== undefined) bi.biEmail = cipher.blindIndex('email', normaliseEmail(c.email));
  if (c.idNumber !== undefined) bi.biIdNumber = cipher.blindIndex('idNumber', normaliseIdNumber(c.idNumber));
  Object.assign(doc, bi);
  doc.tokens = searchTokens((g) => cipher.searchToken(g), c.name, c.company);
  doc.rowHash = customerDigest(c, cipher);
  return doc as unknown as CustomerDoc;
}

const DIGEST_FIELDS: readonly (keyof Customer)[] = ['customerId', ...CUSTOMER_FIELDS];

/**
 * Keyed digest of the plaintext customer (keyed, so it is no oracle for guessing stored values). The
 * fields go in a fixed order as one JSON array: much cheaper than sorting keys (this runs for every
 * imported row). Sub-objects (followUps, contracts) keep their own key order, which the importer's
 * schema and the demo generator both fix; a different order would only cost a needless rewrite.
 */
export function customerDigest(c: Customer, cipher: FieldCipher): string {
  return cipher.digest(JSON.stringify(DIGEST_FIELDS.map((f) => c[f] ?? null)));
}

/** A stored document (lean) back to the decrypted domain object. */
export function fromCustomerDoc(doc: CustomerDoc, cipher: FieldCipher): Customer {
  const c: Record<string, unknown> = { customerId: doc.customerId };
  for (const f of PLAIN_FIELDS) {
    const v = (doc as unknown as Record<string, unknown>)[f];
    if (v !== undefined && v !== null) c[f] = v;
  }
  if (typeof doc.dek !== 'string' || typeof doc.sealed !== 'string') {
    throw new CustosError(ErrorCode.CryptoTampered,
      `customer ${doc.customerId} is stored in the format before per-customer data keys; run the import (or custos seed --demo) again to rewrite it`,
      { customerId: doc.customerId });
  }
  const key = cipher.unwrapDataKey(doc.customerId, doc.dek);
  const personal = JSON.parse(cipher.unseal(key, doc.sealed, encryptionContext(doc.customerId, 'sealed'))) as Record<string, unknown>;
  for (const f of SENSITIVE_FIELDS) if (personal[f] !== undefined) c[f] = personal[f];
  reviveDates(c);
  return c as unknown as Customer;
}

/** The sealed JSON holds dates as ISO strings; the domain has Date objects. */
function reviveDates(c: Record<string, unknown>): void {
  const followUps = c.followUps as { at: unknown }[] | undefined;
  if (followUps) for (const f of followUps) f.at = new Date(f.at as string);
  const contracts = c.contracts as { signedAt: unknown }[] | undefined;
  if (contracts) for (const k of contracts) k.signedAt = new Date(k.signedAt as string);
}
