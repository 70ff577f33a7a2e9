// The ONE place where customers become stored documents and back: encryption, blind indexes, search
// tokens and the row digest on the way in; decryption on the way out.
import { CUSTOMER_FIELDS, SENSITIVE_FIELDS, type Customer } from '../core/domain.ts';
import { normaliseEmail, normaliseIdNumber, normalisePhone, type FieldCipher } from './crypto.ts';
import type { BlindIndexes, CustomerDoc, EncryptedFields } from './models.ts';
import { searchText, searchTokens } from './search-tokens.ts';

/** Plaintext fields copied 1:1 between the domain object and the document. */
const PLAIN_FIELDS = [
  'name', 'type', 'company', 'industry', 'region', 'tier', 'ownerId', 'status', 'wechat', 'birthDate',
  'leadSource', 'campaigns', 'interests', 'stage', 'pipelineValue', 'lastContactAt', 'followUps',
  'contractAmount', 'outstanding', 'paymentStatus', 'creditRating', 'openTickets', 'lastTicketAt',
  'satisfaction', 'afterSalesNotes', 'contracts', 'disputes',
] as const satisfies readonly (keyof Customer & keyof CustomerDoc)[];

/** GCM additional data: binds a ciphertext to its customer and field. */
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
  const enc: EncryptedFields = {};
  for (const f of SENSITIVE_FIELDS) {
    const v = c[f];
    if (v !== undefined) enc[f] = cipher.encrypt(v, encryptionContext(c.customerId, f));
  }
  const bi: BlindIndexes = {};
  if (c.phone !== undefined) bi.biPhone = cipher.blindIndex('phone', normalisePhone(c.phone));
  if (c.email !== undefined) bi.biEmail = cipher.blindIndex('email', normaliseEmail(c.email));
  if (c.idNumber !== undefined) bi.biIdNumber = cipher.blindIndex('idNumber', normaliseIdNumber(c.idNumber));
  doc.enc = enc;
  Object.assign(doc, bi);
  doc.tokens = searchTokens(c.name, c.company);
  doc.search = searchText(c.name, c.company);
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
    const v = doc[f];
    if (v !== undefined && v !== null) c[f] = v;
  }
  const enc = doc.enc ?? {};
  for (const f of SENSITIVE_FIELDS) {
    const v = enc[f];
    if (typeof v === 'string') c[f] = cipher.decrypt(v, encryptionContext(doc.customerId, f));
  }
  return c as unknown as Customer;
}
