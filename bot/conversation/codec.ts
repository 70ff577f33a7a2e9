// The one codec of card actions: which buttons exist, what each one's value holds, and the schema of
// each form. Every adapter decodes a click through `decodeAction` (the platforms' wire ids differ —
// Slack's `customer_pick`, Lark's `pick` — and map to one name here), so a tampered or unknown value is
// refused the same way everywhere, before any service is asked. Values carry ids only (customer,
// request, review, employee ids; an audit page token of ids and codes), never personal data.
import { z } from 'zod';
import type { RequestTarget } from '../core/approvals/types.ts';
import { FIELD_GROUP_NAMES, type FieldGroup } from '../core/domain.ts';
import type { RefusedInteraction } from '../core/refusals.ts';
import type { ChannelKind } from '../../policies/types.ts';

const CUSTOMER_ID = z.string().regex(/^C-\d{1,12}$/);
const REQUEST_ID = z.string().regex(/^R-[A-P]{10}$/);
const REVIEW_ID = z.string().regex(/^RV-\d{8}\.[A-Za-z0-9_-]{1,64}$/);
const EMPLOYEE_ID = z.string().regex(/^E-\d{1,10}$/);
/** An audit page token: base64url JSON of ids and codes, re-validated by the audit service. */
const AUDIT_TOKEN = z.string().regex(/^[A-Za-z0-9_-]{1,1900}$/);
const FIELD = z.string().regex(/^[a-zA-Z]{1,32}$/);
const GROUP = z.enum(FIELD_GROUP_NAMES as [FieldGroup, ...FieldGroup[]]);

/** A button's decoded value, by action name. */
interface ActionValues {
  pick: { customerId: string };
  share: { customerId: string };
  access: { customerId: string };
  reveal: { customerId: string; field: string };
  approve: { requestId: string };
  deny: { requestId: string };
  cancel: { requestId: string };
  review_keep: { reviewId: string };
  review_revoke: { reviewId: string };
  security_unfreeze: { employeeId: string };
  security_keep: { employeeId: string };
  security_revoke: { employeeId: string };
  audit_page: { token: string };
  audit_export: { token: string };
}
export type ActionName = keyof ActionValues;
export type Action = { [N in ActionName]: { name: N } & ActionValues[N] }[ActionName];

interface Spec<N extends ActionName> {
  /** What a refusal of this click is recorded as. */
  interaction: RefusedInteraction;
  encode(value: ActionValues[N]): string;
  decode(value: string): ActionValues[N] | null;
}

/** A value that is one id, as is. */
function plain<K extends string>(key: K, schema: z.ZodString) {
  return {
    encode: (a: Record<K, string>) => a[key],
    decode: (value: string) => (schema.safeParse(value).success ? { [key]: value } as Record<K, string> : null),
  };
}

/** A value that is a small JSON object (the lookup card's request buttons: `{"c":"C-…","f":"phone"}`). */
const REVEAL_VALUE = z.strictObject({ c: CUSTOMER_ID, f: FIELD });
const ACCESS_VALUE = z.strictObject({ c: CUSTOMER_ID });
function json<T>(schema: z.ZodType<T>, text: string): T | null {
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

const SPECS: { [N in ActionName]: Spec<N> } = {
  pick: { interaction: 'lookup', ...plain('customerId', CUSTOMER_ID) },
  share: { interaction: 'share', ...plain('customerId', CUSTOMER_ID) },
  reveal: {
    interaction: 'request',
    encode: (a) => JSON.stringify({ c: a.customerId, f: a.field }),
    decode: (v) => { const o = json(REVEAL_VALUE, v); return o ? { customerId: o.c, field: o.f } : null; },
  },
  access: {
    interaction: 'request',
    encode: (a) => JSON.stringify({ c: a.customerId }),
    decode: (v) => { const o = json(ACCESS_VALUE, v); return o ? { customerId: o.c } : null; },
  },
  approve: { interaction: 'approval', ...plain('requestId', REQUEST_ID) },
  deny: { interaction: 'approval', ...plain('requestId', REQUEST_ID) },
  cancel: { interaction: 'approval', ...plain('requestId', REQUEST_ID) },
  review_keep: { interaction: 'review', ...plain('reviewId', REVIEW_ID) },
  review_revoke: { interaction: 'review', ...plain('reviewId', REVIEW_ID) },
  security_unfreeze: { interaction: 'security', ...plain('employeeId', EMPLOYEE_ID) },
  security_keep: { interaction: 'security', ...plain('employeeId', EMPLOYEE_ID) },
  security_revoke: { interaction: 'security', ...plain('employeeId', EMPLOYEE_ID) },
  audit_page: { interaction: 'audit', ...plain('token', AUDIT_TOKEN) },
  audit_export: { interaction: 'audit', ...plain('token', AUDIT_TOKEN) },
};
export const ACTION_NAMES = Object.keys(SPECS) as ActionName[];

/**
 * The platforms' wire ids that name the same action (rendered cards in chats keep their ids for
 * months, so the old names stay readable). Slack suffixes request buttons with `:<index>`.
 */
const WIRE_IDS = new Map<string, ActionName>(Object.entries({
  customer_pick: 'pick', customer_share: 'share',
  approval_reveal: 'reveal', approval_access: 'access',
  approval_approve: 'approve', approval_deny: 'deny', approval_cancel: 'cancel',
  audit_older: 'audit_page', audit_newer: 'audit_page',
  sec_unfreeze: 'security_unfreeze', sec_keep: 'security_keep', sec_revoke: 'security_revoke',
} satisfies Record<string, ActionName>) as [string, ActionName][]);

export function actionName(wireId: string): ActionName | null {
  const id = wireId.replace(/:\d{1,3}$/, '');
  if ((ACTION_NAMES as string[]).includes(id)) return id as ActionName;
  // A Map, not an object lookup: an id such as `valueOf` must not find Object.prototype.
  return WIRE_IDS.get(id) ?? null;
}

/** The string a button carries for `action`. */
export function encodeAction(action: Action): string {
  return (SPECS[action.name] as Spec<ActionName>).encode(action as never);
}

export type Decoded =
  | { ok: true; action: Action; interaction: RefusedInteraction }
  | { ok: false; reason: 'unknown_action' | 'malformed'; interaction: RefusedInteraction };

/** A click as the platform delivered it: the known action with its checked value, or why it is refused. */
export function decodeAction(wireId: string, value: string): Decoded {
  const name = actionName(wireId);
  if (!name) return { ok: false, reason: 'unknown_action', interaction: 'menu' };
  const spec = SPECS[name] as Spec<ActionName>;
  const fields = value.length <= 2000 ? spec.decode(value) : null;
  // Only the exact bytes we would have written: one encoding per value, so nothing can ride along
  // (whitespace, duplicate keys, reordered JSON) and a value means the same to every adapter.
  if (!fields || spec.encode(fields) !== value) return { ok: false, reason: 'malformed', interaction: spec.interaction };
  return { ok: true, action: { name, ...fields } as Action, interaction: spec.interaction };
}

/** The interaction a refusal of `wireId` is recorded as (`menu` for anything we never rendered). */
export function interactionOf(wireId: string): RefusedInteraction {
  const name = actionName(wireId);
  return name ? SPECS[name].interaction : 'menu';
}

// ---- forms -------------------------------------------------------------------------------------------

/** A text input's words; platforms leave out (or send null for) an input left empty, which is ''. */
const typed = (max: number) => z.string().max(max).nullish().transform((v) => v ?? '');
/** A duration in minutes as typed: a text input's words, or a number input's number (DingTalk's). */
const MINUTES = z.union([z.string().max(20), z.number()]).nullish().transform((v) => (v == null ? '' : String(v)));
/** A multi-select's picks: a list, or one comma-separated string (DingTalk's); none when left out. */
const PICKED_GROUPS = z.union([z.array(z.string().max(64)), z.string().max(1000)]).nullish()
  .transform((v) => (typeof v === 'string' ? v.split(',').map((g) => g.trim()).filter(Boolean) : v ?? []))
  .pipe(z.array(GROUP).max(FIELD_GROUP_NAMES.length));

/**
 * One schema per form, as every platform submits it (Slack modal inputs, Lark form_value, DingTalk's
 * card inputs, WeCom's typed answer, the playground's JSON): each input read the same way wherever it
 * came from, so no adapter normalises them itself. Shape and limits only: whether a purpose is good
 * enough, a duration allowed or a group requestable is the approval service's decision.
 */
export const FORMS = {
  request: z.strictObject({ purpose: typed(2000), duration: MINUTES, groups: PICKED_GROUPS }),
  deny: z.strictObject({ reason: typed(2000) }),
} as const;
/** The request form's inputs, as the service reports a problem with one of them. */
export type FormInput = 'purpose' | 'duration' | 'reason';
export type FormName = keyof typeof FORMS;
export type Form<N extends FormName> = z.infer<(typeof FORMS)[N]>;

/** A submitted form, or null when it is not the form's shape (refused as malformed). */
export function decodeForm<N extends FormName>(name: N, raw: unknown): Form<N> | null {
  const r = FORMS[name].safeParse(raw);
  return r.success ? r.data as Form<N> : null;
}

// ---- what a request form carries back -----------------------------------------------------------------

/** The target as the service prepared it; shapes only, the service prepares it again on submit. */
const TARGET = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('reveal'), customerId: CUSTOMER_ID, field: FIELD }),
  z.object({ kind: z.literal('access'), customerId: CUSTOMER_ID, groups: z.array(GROUP).max(FIELD_GROUP_NAMES.length).optional() }),
  z.object({
    kind: z.literal('export'),
    segment: z.object({ conditions: z.record(z.string().max(64), z.string().max(200)), customerIds: z.array(CUSTOMER_ID).max(5000) }),
    fields: z.array(FIELD).max(64),
  }),
  // A filter token, or an audit report's spec (`report customer C-… FROM TO`); the service decodes either again.
  z.object({ kind: z.literal('audit-export'), query: z.string().regex(/^[A-Za-z0-9_ -]{1,1900}$/) }),
]);
const METADATA = z.object({
  target: TARGET,
  channelKind: z.enum(['dm', 'private', 'public', 'shared']),
  /** The card the form came from (Slack channel, Lark message id); Lark's forms before stage c call it `origin`. */
  channel: z.string().max(200).optional(),
  origin: z.string().max(200).optional(),
  responseUrl: z.string().url().max(2000).optional(),
});
export interface FormMetadata { target: Exclude<RequestTarget, { kind: 'erase' }>; channelKind: ChannelKind; channel?: string; responseUrl?: string }

/** The metadata a request form carries (Slack private_metadata, a Lark button value, the playground's form). */
export function encodeFormMetadata(m: FormMetadata): string {
  return JSON.stringify(m);
}

/** A request form's metadata as we wrote it, or null (refused as malformed). */
export function decodeFormMetadata(text: string): FormMetadata | null {
  const m = text.length <= 20_000 ? json(METADATA, text) : null;
  if (!m) return null;
  const channel = m.channel ?? m.origin;
  return {
    target: m.target as FormMetadata['target'], channelKind: m.channelKind,
    ...(channel !== undefined ? { channel } : {}), ...(m.responseUrl ? { responseUrl: m.responseUrl } : {}),
  };
}

/** The request a Deny form decides: its metadata is the request id. */
export function decodeDenyMetadata(text: string): string | null {
  return REQUEST_ID.safeParse(text).success ? text : null;
}
