// Audit events, pure: the versioned schema (with its PII guard), event ids, query HMACs, the canonical
// JSON encoding and the hashes / MACs / signatures of the tamper-evident chain. The producer validates
// with `parseAuditEvent`; the worker and the verifier compute hashes with the same functions here, so
// writing and checking cannot drift apart.
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_QUERY_KINDS, type AuditEventInput } from './audit.ts';
import { platformIdSchema } from './platform-id.ts';
import { CustosError, ErrorCode } from './errors.ts';

// ---------------------------------------------------------------------------------------------------
// PII guard: shapes of raw personal data that must never sit in a free-text slot of an event.
// Names cannot be recognised by shape; they never enter events because search text is only stored as
// an HMAC (`hmacQuery`) and customers are referred to by their C-… id.

/**
 * Each shape with what it cannot match without (`needs`): an e-mail address an "@", every other shape
 * a digit. Checked first, so the usual identifier ("support.lookup", "sl-…") costs one scan, not seven
 * regular expressions — the guard runs on every slot of every audit event, in the bot and the worker.
 */
export const PII_SHAPES: readonly { kind: string; re: RegExp; needs: '@' | 'digit' }[] = [
  { kind: 'e-mail address', re: /[^\s@]+@[^\s@]+\.[^\s@]{2,}/, needs: '@' },
  { kind: 'mobile number', re: /(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)/, needs: 'digit' },
  { kind: 'landline number', re: /(?<!\d)0\d{2,3}[\s-]\d{7,8}(?!\d)/, needs: 'digit' },
  { kind: 'ID number', re: /(?<!\d)\d{17}[\dXx](?![\dA-Za-z])/, needs: 'digit' },
  { kind: 'bank or card number', re: /(?<!\d)\d{4}(?:[\s-]?\d{4}){2,3}(?:[\s-]?\d{1,3})?(?!\d)/, needs: 'digit' },
  { kind: 'long number', re: /\d{9,}/, needs: 'digit' },
  { kind: 'street address', re: /\d+\s*(?:号|室|栋|弄|单元|号楼)|(?:路|街|巷|道)\s*\d+|\d+\s+[A-Za-z]+\s+(?:street|st|road|rd|avenue|ave|lane|ln|boulevard|blvd)\b/i, needs: 'digit' },
];

/** The kind of raw personal data `text` seems to contain, or null. */
export function looksLikePii(text: string): string | null {
  const at = text.includes('@');
  const digit = /\d/.test(text);
  if (!at && !digit) return null;
  for (const { kind, re, needs } of PII_SHAPES) if ((needs === '@' ? at : digit) && re.test(text)) return kind;
  return null;
}

const freeText = (max: number) =>
  z.string().max(max).superRefine((v, ctx) => {
    const kind = looksLikePii(v);
    // The message names the kind only, never the value: it ends up in logs and error details.
    if (kind) ctx.addIssue({ code: 'custom', message: `looks like a raw ${kind}; audit events may not carry personal data` });
  });

/**
 * The PII shape of an identifier, ignoring its opaque parts. Platform ids (a Lark open_id is `ou_` and
 * 32 hex digits), event ids and UUIDs are random, so they hold digit runs like "123456789" by chance
 * (a Lark open_id about one time in eight); refusing those would fail a lookup closed for no reason.
 * UUIDs and runs that mix letters and digits are opaque (but not a resident ID ending in X); a bare
 * digit run in an id is still refused.
 */
export function identifierLooksLikePii(id: string): string | null {
  // Nothing to find without an "@" or a digit (looksLikePii), and the rewrites below add neither.
  if (!id.includes('@') && !/\d/.test(id)) return null;
  const bare = id
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '_')
    .replace(/[A-Za-z0-9]+/g, (run) => (/[A-Za-z]/.test(run) && /\d/.test(run) && !/^\d{17}[Xx]$/.test(run) ? '_' : run));
  return looksLikePii(bare);
}

const token = (max: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_.\\-/:]{1,${max}}$`), 'must be a short identifier (letters, digits, _ . - / :)')
  .superRefine((v, ctx) => {
    const kind = identifierLooksLikePii(v);
    if (kind) ctx.addIssue({ code: 'custom', message: `looks like a raw ${kind}; audit events may not carry personal data` });
  });

export const EVENT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const CUSTOMER_ID_RE = /^C-\d{1,12}$/;

export const auditEventSchema = z.strictObject({
  v: z.literal(1),
  eventId: z.string().regex(EVENT_ID_RE, 'must be a UUID minted by newEventId()'),
  occurredAt: z.iso.datetime({ offset: true }),
  actor: z.strictObject({
    employeeId: token(64).nullable(),
    platform: platformIdSchema,
    platformUserId: token(128).optional(),
  }),
  channelKind: z.enum(['dm', 'private', 'public', 'shared', 'none']),
  action: z.enum(AUDIT_ACTIONS),
  customerIds: z.array(z.string().regex(CUSTOMER_ID_RE, 'must be a customer id like C-000123')).max(10_000),
  fields: z.array(z.strictObject({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/, 'must be a field name'),
    outcome: z.string().regex(/^(?:show|hide|mask:[a-z0-9_.-]{1,32})$/, 'must be show, hide or mask:<preset>'),
  })).max(200),
  decision: z.enum(['allowed', 'denied', 'error']),
  ruleIds: z.array(token(128)).max(200),
  reasonCode: token(64).optional(),
  grantId: token(64).optional(),
  requestId: token(64).optional(),
  exportId: token(64).optional(),
  purpose: freeText(500).optional(),
  query: z.strictObject({ kind: z.enum(AUDIT_QUERY_KINDS), hmac: z.string().regex(/^[0-9a-f]{64}$/, 'must be hmacQuery() output') }).optional(),
  correlationId: token(128).optional(),
  meta: z.record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/, 'meta keys must be identifiers'),
    z.union([freeText(200), z.number(), z.boolean()]),
  ).refine((m) => Object.keys(m).length <= 32, 'at most 32 meta entries').optional(),
  // Its own slot rather than `meta`: a hex hash is not free text (its digit runs look like numbers).
  archive: z.strictObject({
    firstSeq: z.number().int().min(1),
    lastSeq: z.number().int().min(1),
    checkpoint: z.number().int().min(1),
    events: z.number().int().min(1),
    bundleSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex'),
  }).optional(),
});

/**
 * Validates an event; throws CustosError(AuditEventInvalid) listing each bad slot and why — paths and
 * reasons only, never the offending value. Drops `undefined` optionals so stored documents hash alike.
 */
export function parseAuditEvent(input: unknown): AuditEventInput {
  const parsed = auditEventSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
    throw new CustosError(ErrorCode.AuditEventInvalid, `invalid audit event: ${problems.join('; ')}`, { problems });
  }
  return withoutUndefined(parsed.data) as AuditEventInput;
}

function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
    return out as T;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Ids and query HMACs

/**
 * A UUIDv7: 48-bit millisecond time, then random bits. Time-ordered, no ':' (a valid BullMQ job id).
 * The random part is a v4 UUID's (randomUUID draws from a cached pool: several lookups' events are minted
 * per request, and a fresh randomBytes call each cost more than the rest of the id): its 12 bits after
 * the version digit and its variant-and-62-bit tail are exactly UUIDv7's rand_a and rand_b.
 */
export function newEventId(now: Date): string {
  const ms = now.getTime().toString(16).padStart(12, '0');
  const r = randomUUID();
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${r.slice(15, 18)}-${r.slice(19)}`;
}

/**
 * The event id of a one-time step (an access-review reminder, a cycle's closing), the same for every
 * process that attempts it: racing or retried attempts record one event, since the audit log keeps
 * one record per event id. UUID-shaped (version 8, RFC 9562) from SHA-256 of the step's key; unlike
 * newEventId it is not time-ordered, which nothing relies on (records are ordered by seq).
 */
export function stepEventId(stepKey: string): string {
  return uuid(createHash('sha256').update(`custos-audit-step:${stepKey}`).digest().subarray(0, 16), 8);
}

/** 16 bytes as an RFC 9562 UUID string of `version` (sets the version and variant bits in place). */
function uuid(b: Buffer, version: number): string {
  b[6] = (b[6]! & 0x0f) | (version << 4);
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * HMAC-SHA256 (hex) of what a user typed, after trimming and Unicode NFKC, so equal searches give equal
 * HMACs (admins can find "who searched for X" by HMACing X) while the text itself is never stored.
 */
export function hmacQuery(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text.normalize('NFKC').trim(), 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------------
// Canonical JSON (RFC 8785 style: sorted keys, no whitespace, ES number formatting) and the chain

/** Deterministic JSON: object keys sorted by UTF-16 code units, `undefined` members dropped, Dates as ISO. */
export function canonicalJSON(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJSON: non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJSON(v === undefined ? null : v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJSON: cannot encode ${typeof value}`);
  }
}

export const GENESIS_HASH = '0'.repeat(64);

/** An audit event as stored: the event plus chain position, storage time and the links. */
export interface StoredAuditRecord extends Omit<AuditEventInput, 'occurredAt'> {
  /** actor.employeeId copied to the top level (queries); absent on records written before it existed. */
  actorId?: string | null;
  seq: number;
  occurredAt: Date;
  storedAt: Date;
  late: boolean;
  prevHash: string;
  hash: string;
  mac: string; // HMAC(signingKey, hash): a record written without the key is recognisably forged
}

/** The members that are hashed: everything but the hash, the mac and the database's `_id`. */
function hashedPart(record: Record<string, unknown>): Record<string, unknown> {
  const { hash: _h, mac: _m, _id, ...rest } = record;
  return rest;
}

/** hash = SHA-256(prevHash ‖ canonicalJSON(record − hash)), hex. `prevHash` is itself part of the record. */
export function chainHash(record: Omit<StoredAuditRecord, 'hash' | 'mac'> | Record<string, unknown>): string {
  const r = record as Record<string, unknown>;
  return createHash('sha256').update(String(r.prevHash)).update(canonicalJSON(hashedPart(r))).digest('hex');
}

export function recordMac(signingKey: Buffer, hash: string): string {
  return createHmac('sha256', signingKey).update(`custos-audit-record:${hash}`).digest('hex');
}

/** A signed statement "the chain had `count` records, ending at `lastSeq` with `lastHash`". */
export interface AuditCheckpoint {
  n: number; // 1, 2, 3 … gapless
  lastSeq: number;
  lastHash: string;
  count: number;
  prevSig: string; // the previous checkpoint's signature (GENESIS_HASH for #1): checkpoints chain too
  createdAt: Date;
  sig: string;
}

export function checkpointSignature(signingKey: Buffer, cp: Omit<AuditCheckpoint, 'sig'> | Record<string, unknown>): string {
  const { sig: _s, _id, ...rest } = cp as Record<string, unknown>;
  return createHmac('sha256', signingKey).update(`custos-audit-checkpoint:${canonicalJSON(rest)}`).digest('hex');
}

/** Constant-time comparison of two hex strings. */
export function sameHex(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
