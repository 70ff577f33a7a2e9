// Mapping files (YAML, one per source): which CRM field fills which custos customer field, value maps
// (CRM codes → custos values), constants, and how the CRM owner becomes an employee. Validated with zod
// like policies; every problem is reported at once with where it is. Mapping a record never repeats a
// value in a problem (records hold personal data and problems reach logs).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { CUSTOMER_FIELDS } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';

const MAPPABLE = CUSTOMER_FIELDS.filter((f) => f !== 'ownerId') as readonly string[];

const crmField = z.string().min(1).max(200).regex(/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/, 'must be a CRM field name (dots for nested fields)');
type Scalar = string | number | boolean;
const fieldSpec = z.union([
  crmField.transform((from): { from: string; values?: Record<string, Scalar>; default?: Scalar } => ({ from })),
  z.strictObject({
    from: crmField,
    values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  }),
]);

export const mappingSchema = z.strictObject({
  source: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case source name such as salesforce'),
  /** Which connector reads this source (salesforce, jiandaoyun, …); default: the source's own name. */
  connector: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a connector name such as salesforce').optional(),
  /** The source's name on lookup cards ("as of … from <label>"); default: the connector's product name, else the source. */
  label: z.string().trim().min(1).max(40).optional(),
  object: z.string().min(1).max(100).optional(),
  /** The CRM field holding the custos customer number: C-000123, or a number padded to it. */
  customerId: z.strictObject({ from: crmField, numeric: z.boolean().default(false) }),
  fields: z.record(z.string(), fieldSpec).superRefine((fields, ctx) => {
    for (const k of Object.keys(fields)) {
      if (!MAPPABLE.includes(k)) ctx.addIssue({ code: 'custom', path: [k], message: `is not a custos customer field (ownerId comes from "owner")` });
    }
  }),
  constants: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}).superRefine((c, ctx) => {
    for (const k of Object.keys(c)) if (!MAPPABLE.includes(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'is not a custos customer field' });
  }),
  owner: z.strictObject({
    from: crmField,
    /** CRM owner value → employee id, checked first. */
    table: z.record(z.string(), z.string().regex(/^E-\d{4,}$/, 'must be an employee id such as E-0001')).default({}),
    /** Otherwise the owner value is an e-mail looked up in the employee directory. */
    byEmail: z.boolean().default(true),
  }),
});
export type SyncMapping = z.infer<typeof mappingSchema>;

/** Parses mapping text; throws one error listing every problem with its path. */
export function parseMapping(text: string, where = 'mapping'): SyncMapping {
  let raw: unknown;
  try { raw = parse(text); } catch (err) {
    throw new CustosError(ErrorCode.SyncMappingInvalid, `${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`, { where });
  }
  const r = mappingSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new CustosError(ErrorCode.SyncMappingInvalid, `${where} is invalid; fix: ${problems.join('; ')}`, { where, problems });
  }
  return r.data;
}

export async function loadMapping(file: string): Promise<SyncMapping> {
  return parseMapping(await readFile(file, 'utf8'), file);
}

function valueAt(record: Record<string, unknown>, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

export interface MappedRecord {
  /** The custos row before validation (parseCustomerRow), ownerId not yet resolved. */
  row: Record<string, unknown>;
  ownerRef: string | undefined;
}
export interface MapProblem { field: string; reason: string }

/** The custos customer id a record carries, or null when it has none usable. */
export function customerIdOf(mapping: SyncMapping, fields: Record<string, unknown>): string | null {
  const v = valueAt(fields, mapping.customerId.from);
  if (blank(v)) return null;
  const s = String(v).trim();
  if (mapping.customerId.numeric) return /^\d{1,12}$/.test(s) ? `C-${s.padStart(6, '0')}` : null;
  return /^C-\d{6,}$/i.test(s) ? s.toUpperCase() : null;
}

/** CRM fields → a custos row; problems name the custos field and never the value. */
export function mapRecord(mapping: SyncMapping, fields: Record<string, unknown>): { ok: true; value: MappedRecord } | { ok: false; problems: MapProblem[] } {
  const problems: MapProblem[] = [];
  const customerId = customerIdOf(mapping, fields);
  if (!customerId) problems.push({ field: 'customerId', reason: `${mapping.customerId.from} is missing or not a custos customer number` });
  const row: Record<string, unknown> = { ...mapping.constants, customerId };
  for (const [target, spec] of Object.entries(mapping.fields)) {
    let v = valueAt(fields, spec.from);
    if (!blank(v) && spec.values) {
      const mapped = spec.values[String(v)];
      if (mapped === undefined) { problems.push({ field: target, reason: `${spec.from} has a value missing from the value map` }); continue; }
      v = mapped;
    }
    if (blank(v)) v = spec.default;
    if (!blank(v)) row[target] = v;
  }
  const owner = valueAt(fields, mapping.owner.from);
  if (problems.length) return { ok: false, problems };
  return { ok: true, value: { row, ownerRef: blank(owner) ? undefined : String(owner).trim() } };
}
