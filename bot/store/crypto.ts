// Field encryption and keyed blind indexes for the sensitive customer values.
//
// Encryption: AES-256-GCM, a fresh 96-bit IV per value, and the key id stored with every value so keys
// can rotate: the FIRST configured key encrypts, ANY configured key decrypts. The value is bound to its
// record and field through GCM's additional authenticated data (`customerId:field`), so a ciphertext
// copied onto another customer or into another field fails its integrity check instead of decrypting.
//
// Stored form (one compact string, smaller than a sub-document and cheap to compare):
//   `<keyId>:<iv base64>:<tag base64>:<ciphertext base64>`   (base64 never contains ':')
//
// Blind indexes: HMAC-SHA256 under the blind-index key over the NORMALISED value, prefixed by its kind
// so a phone number and an e-mail can never collide. Equal inputs in different spellings
// (`+86 138-1234-5678`, `13812345678`) normalise to the same string and so to the same index value;
// without the key the index reveals nothing and cannot be brute-forced from a dump.
//
// Envelope encryption (customer documents): every customer has its own random 256-bit data key (DEK);
// the DEK is stored WRAPPED (AES-256-GCM) under the first master key of CUSTOS_DATA_KEYS, as
// `<keyId>:<iv>:<tag>:<ciphertext>` with the customer id as additional data, and all of the customer's
// personal values are sealed together under the DEK. Destroying the wrapped DEK makes every copy of the
// sealed values (backups included) undecryptable; rotating the master key only re-wraps 32-byte DEKs.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { CustosError, ErrorCode } from '../core/errors.ts';
import { KeyCache } from './key-cache.ts';

export interface DataKey { id: string; key: Buffer }
export interface CryptoConfig {
  dataKeys: DataKey[];
  blindIndexKey: Buffer;
  /** Key of the fragment-search tokens; derived from the blind-index key (HKDF) when not given. */
  searchTokenKey?: Buffer;
  keyCacheSize?: number;
  keyCacheSeconds?: number;
  now?: () => number;
}

/** Bytes of a search token (64 bits): see README "Encryption at rest" for why this length. */
export const SEARCH_TOKEN_BYTES = 8;

export type BlindIndexKind = 'phone' | 'email' | 'idNumber';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class FieldCipher {
  private readonly encryptKey: DataKey;
  private readonly keysById: Map<string, Buffer>;
  private readonly blindIndexKey: Buffer;
  private readonly searchTokenKey: Buffer;
  private readonly keyCache: KeyCache;
  private digestTag: string | undefined;

  constructor(config: CryptoConfig) {
    const first = config.dataKeys[0];
    if (!first) throw new CustosError(ErrorCode.ConfigInvalid, 'no data encryption key configured (CUSTOS_DATA_KEYS)');
    for (const k of config.dataKeys) {
      if (k.key.length !== 32) throw new CustosError(ErrorCode.ConfigInvalid, `data key "${k.id}" is not 32 bytes`);
    }
    if (config.blindIndexKey.length !== 32) throw new CustosError(ErrorCode.ConfigInvalid, 'blind index key is not 32 bytes');
    this.encryptKey = first;
    this.keysById = new Map(config.dataKeys.map((k) => [k.id, k.key]));
    this.blindIndexKey = config.blindIndexKey;
    this.searchTokenKey = config.searchTokenKey
      ?? Buffer.from(hkdfSync('sha256', config.blindIndexKey, Buffer.alloc(0), 'custos search tokens v1', 32));
    if (this.searchTokenKey.length !== 32) throw new CustosError(ErrorCode.ConfigInvalid, 'search token key is not 32 bytes');
    this.keyCache = new KeyCache({
      maxEntries: config.keyCacheSize ?? 10_000,
      ttlMs: (config.keyCacheSeconds ?? 300) * 1000,
      ...(config.now ? { now: config.now } : {}),
    });
  }

  /** The id of the master key that wraps new data keys (the first of CUSTOS_DATA_KEYS). */
  get currentKeyId(): string {
    return this.encryptKey.id;
  }

  /** Every configured master key id, the current one first. */
  get keyIds(): string[] {
    return [...this.keysById.keys()];
  }

  /** A fresh data key for a new customer, and its wrapped form to store. */
  newDataKey(customerId: string): { key: Buffer; wrapped: string } {
    const key = randomBytes(32);
    const wrapped = this.encryptWith(this.encryptKey, key, wrapContext(customerId));
    this.keyCache.set(cacheKey(customerId, wrapped), key);
    return { key, wrapped };
  }

  /** The customer's data key from its wrapped form (cached, bounded in size and time). */
  unwrapDataKey(customerId: string, wrapped: string): Buffer {
    const cached = this.keyCache.get(cacheKey(customerId, wrapped));
    if (cached) return cached;
    const key = this.decryptBytes(wrapped, wrapContext(customerId));
    if (key.length !== 32) throw tampered(wrapContext(customerId), 'data key is not 32 bytes');
    this.keyCache.set(cacheKey(customerId, wrapped), key);
    return key;
  }

  /** The wrapped key re-wrapped under the current master key, or null when it already is. */
  rewrapDataKey(customerId: string, wrapped: string): string | null {
    if (FieldCipher.keyIdOf(wrapped) === this.encryptKey.id) return null;
    const key = this.decryptBytes(wrapped, wrapContext(customerId));
    return this.encryptWith(this.encryptKey, key, wrapContext(customerId));
  }

  /** Seals `plain` under a customer's data key; `context` is authenticated (binds it to the customer). */
  seal(dataKey: Buffer, plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
  }

  unseal(dataKey: Buffer, sealed: string, context: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 3) throw tampered(context, 'malformed value');
    return this.openWith(dataKey, parts as [string, string, string], context).toString('utf8');
  }

  /** A 64-bit keyed token of one normalised n-gram (fragment search, search-tokens.ts). */
  searchToken(gram: string): string {
    return createHmac('sha256', this.searchTokenKey).update(gram, 'utf8').digest().subarray(0, SEARCH_TOKEN_BYTES).toString('base64url');
  }

  private encryptWith(k: DataKey, plain: Buffer, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', k.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
    return `${k.id}:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
  }

  private decryptBytes(stored: string, context: string): Buffer {
    const parts = stored.split(':');
    if (parts.length !== 4) throw tampered(context, 'malformed value');
    const [keyId, ...rest] = parts as [string, string, string, string];
    const key = this.keysById.get(keyId);
    if (!key) {
      throw new CustosError(ErrorCode.CryptoKeyUnknown,
        `value encrypted under key id "${keyId}", which is not in CUSTOS_DATA_KEYS (keep old keys listed after the new one until \`custos keys status\` shows none left under it)`,
        { keyId, context });
    }
    return this.openWith(key, rest as [string, string, string], context);
  }

  private openWith(key: Buffer, [ivB64, tagB64, ctB64]: [string, string, string], context: string): Buffer {
    const iv = Buffer.from(ivB64, 'base64');
    const tag = Buffer.from(tagB64, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw tampered(context, 'bad iv or tag length');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(ctB64, 'base64')), decipher.final()]);
    } catch (err) {
      throw tampered(context, 'authentication failed', err);
    }
  }

  /** Encrypts `plain` under the current key; `context` (e.g. `C-000001:phone`) is authenticated, not stored. */
  encrypt(plain: string, context: string): string {
    return this.encryptWith(this.encryptKey, Buffer.from(plain, 'utf8'), context);
  }

  /** Decrypts a stored value; the same `context` as at encryption time must be given. */
  decrypt(stored: string, context: string): string {
    return this.decryptBytes(stored, context).toString('utf8');
  }

  /** The key id a stored value was encrypted under (for rotation reports). */
  static keyIdOf(stored: string): string {
    return stored.slice(0, stored.indexOf(':'));
  }

  /** Keyed blind index of an already normalised value (see `blindIndexOf` for raw input). */
  blindIndex(kind: BlindIndexKind, normalised: string): string {
    return createHmac('sha256', this.blindIndexKey).update(`${kind}\u0000${normalised}`, 'utf8').digest('base64url');
  }

  /** Blind index of raw user or file input: normalises first, so every spelling of a value matches. */
  blindIndexOf(kind: BlindIndexKind, raw: string): string {
    return this.blindIndex(kind, NORMALISERS[kind](raw));
  }

  /**
   * A keyed digest of arbitrary text (e.g. a row's canonical JSON), so equal content is detectable without
   * exposing it. It also depends on the search-token key, so a document written under other blind-index
   * or token keys never looks unchanged (`custos keys reindex` and re-imports rewrite it).
   */
  digest(text: string): string {
    this.digestTag ??= this.searchToken('\u0000digest');
    return createHmac('sha256', this.blindIndexKey).update(`row\u0000${this.digestTag}\u0000${text}`, 'utf8').digest('base64url');
  }
}

/** The cache holds a key for a customer AND a wrapping: a wrapped key copied onto another customer misses. */
function cacheKey(customerId: string, wrapped: string): string {
  return `${customerId}\u0000${wrapped}`;
}

function wrapContext(customerId: string): string {
  return `${customerId}:dek`;
}

function tampered(context: string, why: string, cause?: unknown): CustosError {
  const field = context.slice(context.lastIndexOf(':') + 1);
  return new CustosError(ErrorCode.CryptoTampered, `stored ${field} value failed its integrity check (${why})`, { context }, { cause });
}

// ---- normalisation -------------------------------------------------------------------------------

/** NFKC turns full-width digits and letters (１３８, ＡＢＣ) into ASCII; used before every comparison. */
export function nfkc(value: string): string {
  return value.normalize('NFKC');
}

/**
 * Canonical national form of a Chinese phone number: mobile `13812345678`, landline `01012345678`
 * (area code with its leading 0). The country code (+86, 0086, or a bare 86 before a mobile number) is
 * dropped; spaces, dashes, dots and brackets are ignored. Other international numbers keep `+` and digits.
 */
export function normalisePhone(raw: string): string {
  const s = nfkc(raw).trim();
  const plus = s.startsWith('+');
  let digits = s.replace(/\D/g, '');
  let international = plus;
  if (!plus && digits.startsWith('00')) { digits = digits.slice(2); international = true; }
  if (international) {
    if (!digits.startsWith('86')) return `+${digits}`;
    return nationalFromCountryCode(digits.slice(2));
  }
  // A bare "86" only counts as a country code in front of a full mobile number: a local landline
  // may itself start with 86.
  if (digits.length === 13 && /^861[3-9]/.test(digits)) return digits.slice(2);
  return digits;
}

function nationalFromCountryCode(rest: string): string {
  if (rest.length === 11 && rest.startsWith('1')) return rest; // mobile
  return rest.startsWith('0') ? rest : `0${rest}`; // landline: the trunk 0 is dropped after +86
}

export const MOBILE_RE = /^1[3-9]\d{9}$/;
export const LANDLINE_RE = /^0\d{2,3}\d{7,8}$/;

/** Whether a raw phone value is a plausible Chinese mobile / landline or an international number. */
export function isValidPhone(raw: string): boolean {
  const n = normalisePhone(raw);
  if (n.startsWith('+')) return /^\+[1-9]\d{6,14}$/.test(n);
  return MOBILE_RE.test(n) || LANDLINE_RE.test(n);
}

export function normaliseEmail(raw: string): string {
  return nfkc(raw).trim().toLowerCase();
}

/** Resident ID numbers: ASCII, no spaces, upper-case check character `X`. */
export function normaliseIdNumber(raw: string): string {
  return nfkc(raw).replace(/\s+/g, '').toUpperCase();
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID. */
export function idCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

/** Why a resident ID is invalid, or null when it is an 18-character ID with a correct check character. */
export function idNumberProblem(raw: string): string | null {
  const id = normaliseIdNumber(raw);
  if (!/^\d{17}[\dX]$/.test(id)) return 'must be 18 characters: 17 digits and a digit or X';
  const birth = id.slice(6, 14);
  const date = new Date(`${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10).replace(/-/g, '') !== birth) {
    return 'contains an impossible birth date (characters 7-14)';
  }
  if (idCheckChar(id.slice(0, 17)) !== id[17]) return 'has a wrong check character (last character)';
  return null;
}

/** Luhn check digit for the digits given (used by the demo bank cards). */
export function luhnCheckDigit(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function isLuhnValid(digits: string): boolean {
  return /^\d{2,}$/.test(digits) && luhnCheckDigit(digits.slice(0, -1)) === digits.slice(-1);
}

const NORMALISERS: Record<BlindIndexKind, (raw: string) => string> = {
  phone: normalisePhone,
  email: normaliseEmail,
  idNumber: normaliseIdNumber,
};
