// Row schemas for `custos import`: one zod schema per kind that accepts BOTH a CSV row (every value a
// string) and a JSON Lines object (native numbers, booleans, arrays), so the two formats cannot drift.
//
// CSV encoding (documented in `custos import --help`):
//   - empty cell = field absent;
//   - list columns (campaigns, interests, disputes, roles) are `;`-separated: `云服务;CRM`;
//   - structured columns (followUps, contracts) hold a JSON array: `[{"at":"2026-04-20T02:00:00Z","by":"E-0012","note":"…"}]`;
//   - dates are ISO 8601 (`2026-05-01` or `2026-05-01T08:00:00Z`); birthDate is `YYYY-MM-DD`;
//   - booleans (external) are true/false, yes/no or 1/0;
//   - employee chat ids are the columns `chat.<platform>`, one per registered platform (bot/platforms.ts):
//     `chat.slack`, `chat.lark`, `chat.dingtalk`, `chat.wecom`, … (JSON Lines: `"chat":{"slack":"U…"}`).
// Reasons never repeat the offending value: import files hold personal data and reasons reach logs.
import { z } from 'zod';
import {
  CREDIT_RATINGS, CUSTOMER_FIELDS, CUSTOMER_STATUSES, CUSTOMER_TIERS, CUSTOMER_TYPES, DEPARTMENTS, EMPLOYEE_STATUSES,
  PAYMENT_STATUSES, REGIONS, ROLES, SALES_STAGES, type Customer, type Employee,
} from '../core/domain.ts';
import { isPlatformId } from '../core/platform-id.ts';
import { PLATFORMS } from '../platforms.ts';
import type { PlatformRegistry } from '../runtime/platform-registry.ts';
import { idNumberProblem, isValidPhone, nfkc, normaliseIdNumber } from './crypto.ts';

export const LIST_SEPARATOR = ';';

export const CUSTOMER_COLUMNS: readonly string[] = ['customerId', ...CUSTOMER_FIELDS];
const EMPLOYEE_FIELD_COLUMNS: readonly string[] = [
  'employeeId', 'email', 'name', 'department', 'roles', 'managerId', 'region', 'timezone', 'locale', 'status', 'external',
];
const CHAT_PREFIX = 'chat.';

/** The employee file's columns: its fields, then `chat.<id>` for each registered platform (registry order). */
export function employeeColumns(registry: PlatformRegistry = PLATFORMS): string[] {
  return [...EMPLOYEE_FIELD_COLUMNS, ...registry.ids().map((id) => `${CHAT_PREFIX}${id}`)];
}

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v === null ? undefined : v);

/** Blank cells (and JSON null) count as absent; `optional()` must sit INSIDE the preprocess in zod 4. */
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const req = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema);

const plainText = (max: number) => z.string({ error: 'must be text' }).trim().min(1).max(max, `must be at most ${max} characters`);
const text = (max: number) => req(plainText(max));
const optText = (max: number) => opt(plainText(max));

const number = (opts: { int?: boolean; min?: number; max?: number } = {}) => {
  let n = z.number({ error: 'must be a number' });
  if (opts.int) n = n.int('must be a whole number');
  if (opts.min !== undefined) n = n.min(opts.min, `must be at least ${opts.min}`);
  if (opts.max !== undefined) n = n.max(opts.max, `must be at most ${opts.max}`);
  return z.preprocess((v) => {
    const b = blankToUndefined(v);
    return typeof b === 'string' ? (/^-?\d+(\.\d+)?$/.test(b.trim()) ? Number(b) : NaN) : b;
  }, n.optional());
};

const list = (item: z.ZodType<string>, maxItems = 50) => z.preprocess((v) => {
  const b = blankToUndefined(v);
  return typeof b === 'string' ? b.split(LIST_SEPARATOR).map((s) => s.trim()).filter(Boolean) : b;
}, z.array(item, { error: `must be a list (in CSV: values separated by "${LIST_SEPARATOR}")` }).max(maxItems, `must have at most ${maxItems} entries`).optional());

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const isoDateValue = z.string({ error: 'must be an ISO 8601 date' })
  .regex(ISO_DATE, 'must be an ISO 8601 date such as 2026-05-01 or 2026-05-01T08:00:00Z')
  .transform((s, ctx) => {
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) { ctx.addIssue({ code: 'custom', message: 'is not a real date' }); return z.NEVER; }
    return d;
  });
const isoDate = req(isoDateValue);
const optIsoDate = opt(isoDateValue);

const dayDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').refine((s) => {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}, 'is not a real date');

/** A CSV cell with a JSON array in it, or a native array in JSON Lines. */
const jsonArray = <T extends z.ZodType>(item: T) => z.preprocess((v) => {
  const b = blankToUndefined(v);
  if (typeof b !== 'string') return b;
  try { return JSON.parse(b) as unknown; } catch { return Symbol('bad json'); }
}, z.array(item, { error: 'must be a JSON array (see `custos import --help`)' }).max(100, 'must have at most 100 entries').optional());

const enumValue = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of: ${values.join(', ')}` });
const enumOf = <T extends readonly [string, ...string[]]>(values: T) => req(enumValue(values));
const optEnumOf = <T extends readonly [string, ...string[]]>(values: T) => opt(enumValue(values));

const employeeIdSchema = z.string().trim().toUpperCase().regex(/^E-\d{4,}$/, 'must look like E-0001');

const phone = opt(z.string({ error: 'must be text' }).trim().max(40)
  .refine(isValidPhone, 'is not a valid phone number (Chinese mobile, landline with area code, or +country number)'));
const idNumber = opt(z.string({ error: 'must be text' }).transform((s, ctx) => {
  const problem = idNumberProblem(s);
  if (problem) { ctx.addIssue({ code: 'custom', message: `is not a valid resident ID: it ${problem}` }); return z.NEVER; }
  return normaliseIdNumber(s);
}));
const bankAccount = opt(z.string({ error: 'must be text' }).transform((s, ctx) => {
  const digits = nfkc(s).replace(/[\s-]/g, '');
  if (!/^\d{12,30}$/.test(digits)) { ctx.addIssue({ code: 'custom', message: 'must be 12 to 30 digits' }); return z.NEVER; }
  return digits;
}));

const followUp = z.strictObject({ at: isoDate, by: employeeIdSchema, note: z.string().max(2000) });
const contract = z.strictObject({
  contractNo: z.string().min(1).max(64), title: z.string().min(1).max(200), signedAt: isoDate, amount: z.number().nonnegative(),
});

export const customerRowSchema = z.strictObject({
  customerId: z.preprocess(blankToUndefined, z.string({ error: 'is required' }).trim().toUpperCase().regex(/^C-\d{6,}$/, 'must look like C-000123')),
  name: text(200),
  type: enumOf(CUSTOMER_TYPES),
  company: optText(200),
  industry: optText(100),
  region: enumOf(REGIONS),
  tier: enumOf(CUSTOMER_TIERS),
  ownerId: z.preprocess(blankToUndefined, employeeIdSchema),
  status: enumOf(CUSTOMER_STATUSES),
  phone,
  email: opt(z.email('is not a valid e-mail address').max(254)),
  address: optText(500),
  wechat: optText(100),
  idNumber,
  birthDate: opt(dayDate),
  leadSource: optText(100),
  campaigns: list(z.string().max(200)),
  interests: list(z.string().max(200)),
  stage: optEnumOf(SALES_STAGES),
  pipelineValue: number({ min: 0 }),
  lastContactAt: optIsoDate,
  followUps: jsonArray(followUp),
  contractAmount: number({ min: 0 }),
  outstanding: number({ min: 0 }),
  paymentStatus: optEnumOf(PAYMENT_STATUSES),
  creditRating: optEnumOf(CREDIT_RATINGS),
  bankAccount,
  openTickets: number({ int: true, min: 0 }),
  lastTicketAt: optIsoDate,
  satisfaction: number({ int: true, min: 1, max: 5 }),
  afterSalesNotes: optText(4000),
  contracts: jsonArray(contract),
  disputes: list(z.string().max(1000)),
}, { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : undefined) });

const boolean = z.preprocess((v) => {
  const b = blankToUndefined(v);
  if (typeof b !== 'string') return b;
  const s = b.trim().toLowerCase();
  return ['true', 'yes', '1'].includes(s) ? true : ['false', 'no', '0'].includes(s) ? false : b;
}, z.boolean({ error: 'must be true or false' }));

const timezone = z.string().trim().refine((tz) => {
  try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; }
}, 'is not an IANA time zone such as Asia/Shanghai');

export const employeeRowSchema = z.strictObject({
  employeeId: z.preprocess(blankToUndefined, employeeIdSchema),
  email: z.preprocess(blankToUndefined, z.email('is not a valid e-mail address').max(254).transform((s) => s.toLowerCase())),
  name: text(200),
  department: enumOf(DEPARTMENTS),
  roles: z.preprocess((v) => {
    const b = blankToUndefined(v);
    return typeof b === 'string' ? b.split(LIST_SEPARATOR).map((s) => s.trim()).filter(Boolean) : b;
  }, z.array(z.enum(ROLES, { error: `each role must be one of: ${ROLES.join(', ')}` }), { error: `must be a list of roles (CSV: separated by "${LIST_SEPARATOR}")` })
    .min(1, 'needs at least one role')),
  managerId: opt(employeeIdSchema),
  region: enumOf(REGIONS),
  timezone: z.preprocess((v) => blankToUndefined(v) ?? 'Asia/Shanghai', timezone),
  locale: z.preprocess((v) => blankToUndefined(v) ?? 'zh-CN', z.enum(['zh-CN', 'en'], { error: 'must be zh-CN or en' })),
  status: z.preprocess((v) => blankToUndefined(v) ?? 'active', z.enum(EMPLOYEE_STATUSES, { error: `must be one of: ${EMPLOYEE_STATUSES.join(', ')}` })),
  external: z.preprocess((v) => blankToUndefined(v) ?? false, boolean),
  // Keyed by platform id; the keys are checked against the registry before this schema (chatProblems).
  chat: z.record(z.string(), optText(128), { error: 'must be an object of chat ids by platform, such as {"slack": "U…"}' }).optional(),
}, { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : undefined) });

/** CSV rows name chat ids `chat.<platform>`; the schema wants them nested under `chat`. */
export function nestChatColumns(row: Record<string, unknown>): Record<string, unknown> {
  const columns = Object.keys(row).filter((k) => k.startsWith(CHAT_PREFIX));
  if (columns.length === 0) return row;
  const rest = Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith(CHAT_PREFIX)));
  return { ...rest, chat: Object.fromEntries(columns.map((k) => [k.slice(CHAT_PREFIX.length), row[k]])) };
}

/**
 * Every chat key that is not a registered platform, each a problem naming the registered ones. A key that
 * is not even a platform id is reported as `chat.(malformed)`: keys come from the file and reach logs.
 */
function chatProblems(chat: unknown, registry: PlatformRegistry): FieldProblem[] {
  if (chat === null || typeof chat !== 'object' || Array.isArray(chat)) return [];
  return Object.keys(chat).filter((id) => !registry.has(id)).map((id) => ({
    field: `${CHAT_PREFIX}${isPlatformId(id) ? id : '(malformed)'}`,
    reason: `is not a registered chat platform; registered platforms: ${registry.ids().join(', ')}`,
  }));
}

export interface FieldProblem { field: string; reason: string }
export type RowResult<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/** zod 4 issues do not carry the input, so "missing" is decided from the raw row itself. */
function problemsOf(error: z.ZodError, raw: Record<string, unknown>): FieldProblem[] {
  return error.issues.map((i) => {
    const field = i.path.length > 0 ? i.path.map(String).join('.') : '(row)';
    let value: unknown = raw;
    for (const p of i.path) {
      // A CSV cell (a string) that the schema split into a list: the cell itself is present.
      if (value === null || typeof value !== 'object') break;
      value = (value as Record<PropertyKey, unknown>)[p];
    }
    const missing = i.path.length > 0 && blankToUndefined(value) === undefined;
    return { field, reason: missing ? 'is required' : i.message };
  });
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export function parseCustomerRow(raw: Record<string, unknown>): RowResult<Customer> {
  const r = customerRowSchema.safeParse(raw);
  if (!r.success) return { ok: false, problems: problemsOf(r.error, raw) };
  return { ok: true, value: dropUndefined(r.data as Customer) };
}

/** One employee row; chat ids are accepted for the platforms in `registry` only, every problem reported at once. */
export function parseEmployeeRow(raw: Record<string, unknown>, registry: PlatformRegistry = PLATFORMS): RowResult<Employee> {
  const nested = nestChatColumns(raw);
  const unknown = chatProblems(nested.chat, registry);
  const known = unknown.length === 0 ? nested : { ...nested, chat: Object.fromEntries(Object.entries(nested.chat as object).filter(([id]) => registry.has(id))) };
  const r = employeeRowSchema.safeParse(known);
  if (!r.success || unknown.length > 0) return { ok: false, problems: [...(r.success ? [] : problemsOf(r.error, known)), ...unknown] };
  const { chat, ...rest } = r.data;
  const e = dropUndefined({ ...rest, chat: dropUndefined({ ...(chat ?? {}) }) }) as Employee;
  return { ok: true, value: e };
}
