// A SCIM User as it crosses the wire: `parseUser` turns a body (POST, PUT, or the result of a PATCH)
// into the attributes custos keeps, refusing unknown attributes and wrong types with the attribute's
// name (never its value); `renderUser` turns a stored user back into the resource, with meta and ETag.
// Attributes of the core schema custos does not use (addresses, phone numbers, photos …) are accepted
// and dropped: custos must not store personal data it has no use for.
import { z } from 'zod';
import type { ScimGroupDoc, ScimUserData, ScimUserDoc } from '../store/scim-store.ts';
import { badRequest } from './errors.ts';
import { ENTERPRISE_SCHEMA, USER_SCHEMA } from './protocol.ts';

const DROPPED = new Set(['nickname', 'profileurl', 'phonenumbers', 'addresses', 'ims', 'photos', 'entitlements', 'roles', 'x509certificates', 'password', 'groups', 'id', 'meta', 'schemas']);

const str = z.string().max(256);
/** Entra sends booleans as the strings "True" / "False" in PATCH values. */
const bool = z.union([z.boolean(), z.string().regex(/^(true|false)$/i).transform((v) => v.toLowerCase() === 'true')]);

const userSchema = z.strictObject({
  userName: z.string().trim().min(1).max(256),
  externalId: str.optional(),
  name: z.strictObject({
    formatted: str.optional(), givenName: str.optional(), familyName: str.optional(), middleName: str.optional(),
    honorificPrefix: str.optional(), honorificSuffix: str.optional(),
  }).optional(),
  displayName: str.optional(),
  emails: z.array(z.strictObject({ value: z.string().trim().email().max(256), type: str.optional(), primary: bool.optional(), display: str.optional() })).max(20).optional(),
  active: bool.default(true),
  title: str.optional(),
  userType: str.optional(),
  locale: str.optional(),
  preferredLanguage: str.optional(),
  timezone: str.optional(),
  enterprise: z.strictObject({
    employeeNumber: str.optional(),
    department: str.optional(),
    // Entra's PATCH gives the manager as the bare id; the schema has it as { value }.
    manager: z.union([z.string().min(1).transform((value) => ({ value })), z.looseObject({ value: z.string().min(1) }).transform((m) => ({ value: m.value }))]).optional(),
    // A few IdPs send these too; accepted, not kept.
    organization: str.optional(), division: str.optional(), costCenter: str.optional(),
  }).optional(),
});

/** Lower-cases keys (attribute names are case-insensitive, RFC 7643 §2.1) and moves the extension under `enterprise`. */
function normalise(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known: Record<string, string> = Object.fromEntries(Object.keys(userSchema.shape).map((k) => [k.toLowerCase(), k]));
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === ENTERPRISE_SCHEMA.toLowerCase()) {
      if (value !== null && value !== undefined) out.enterprise = value;
      continue;
    }
    if (lower.startsWith('urn:')) throw badRequest('invalidSyntax', `schema extension ${key.slice(0, 120)} is not supported`);
    if (DROPPED.has(lower)) continue;
    const name = known[lower];
    if (!name) throw badRequest('invalidValue', `unknown attribute "${key.slice(0, 64)}" for a User`);
    // null means "no value" (RFC 7644 §3.5.2.3: a PUT with null clears the attribute).
    if (value !== null) out[name] = value;
  }
  return out;
}

/** The attributes custos keeps of a User body; throws a 400 ScimError naming the bad attribute. */
export function parseUser(body: unknown): ScimUserData {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalidSyntax', 'the body must be a JSON object (a SCIM User)');
  const parsed = userSchema.safeParse(normalise(body as Record<string, unknown>));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.').replace(/^enterprise\b/, ENTERPRISE_SCHEMA) || '(body)';
    const scimType = issue.code === 'unrecognized_keys' ? 'invalidValue' : 'invalidValue';
    throw badRequest(scimType, `attribute ${path}: ${issue.code === 'unrecognized_keys' ? `unknown sub-attribute(s) ${issue.keys.join(', ')}` : issue.message}`);
  }
  return dropEmpty(parsed.data) as ScimUserData;
}

function dropEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropEmpty);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = dropEmpty(x);
    return out;
  }
  return v;
}

export function etag(version: number): string {
  return `W/"${version}"`;
}

/** The User resource of a stored user (groups from `groups`), as GET and every write answer it. */
export function renderUser(doc: ScimUserDoc, groups: ScimGroupDoc[], base: string, managerName?: string): Record<string, unknown> {
  const { enterprise, ...core } = doc.data;
  const out: Record<string, unknown> = {
    schemas: enterprise ? [USER_SCHEMA, ENTERPRISE_SCHEMA] : [USER_SCHEMA],
    id: doc._id,
    ...core,
  };
  if (enterprise) {
    out[ENTERPRISE_SCHEMA] = {
      ...enterprise,
      ...(enterprise.manager ? { manager: { ...enterprise.manager, $ref: `${base}/Users/${enterprise.manager.value}`, ...(managerName ? { displayName: managerName } : {}) } } : {}),
    };
  }
  if (groups.length > 0) out.groups = groups.map((g) => ({ value: g._id, display: g.displayName, $ref: `${base}/Groups/${g._id}` }));
  out.meta = {
    resourceType: 'User', created: doc.created.toISOString(), lastModified: doc.lastModified.toISOString(),
    location: `${base}/Users/${doc._id}`, version: etag(doc.version),
  };
  return out;
}

/** The resource a PATCH applies to: the stored attributes in wire form, without read-only parts. */
export function patchTarget(doc: ScimUserDoc): Record<string, unknown> {
  const { enterprise, ...core } = structuredClone(doc.data);
  return { schemas: [USER_SCHEMA], ...core, ...(enterprise ? { [ENTERPRISE_SCHEMA]: enterprise } : {}), meta: { created: doc.created, lastModified: doc.lastModified } };
}
