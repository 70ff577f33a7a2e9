// The zod schema of a policy file. Structure is checked here; record conditions are checked by
// conditions.ts and reported through the same problem list, so a broken file gets every problem at once.
import { z } from 'zod';
import { CUSTOMER_FIELDS, DEPARTMENTS, FIELD_GROUP_NAMES, REGIONS, ROLES } from '../bot/domain/domain.ts';
import { isPreset, PRESET_NAMES } from './mask/index.ts';
import { ACTIONS, CHANNEL_KINDS } from './types.ts';
import { checkConditions } from './conditions.ts';
import { securitySettingsSchema } from './security-settings.ts';

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, 'rule ids are 1-80 lower-case letters, digits, ".", "_" or "-"');

export const outcomeSchema = z.string().superRefine((v, ctx) => {
  if (v === 'show' || v === 'hide' || (v.startsWith('mask:') && isPreset(v.slice(5)))) return;
  ctx.addIssue({ code: 'custom', message: `"${v}" is not an outcome: use show, hide or mask:<preset> with a known preset (${PRESET_NAMES.join(', ')})` });
});

/** Who a rule applies to. Omitted lists match everyone; external users match only when `external` says so. */
const whoSchema = z.object({
  departments: z.array(z.enum(DEPARTMENTS)).min(1).optional(),
  roles: z.array(z.enum(ROLES)).min(1).optional(),
  regions: z.array(z.enum(REGIONS)).min(1).optional(),
  external: z.union([z.boolean(), z.literal('any')]).default(false),
}).strict();

/** `field | group | "*"` → outcome; keys are checked here so the message can name the bad key. */
const fieldOutcomes = z.record(z.string(), outcomeSchema).superRefine((map, ctx) => {
  for (const k of Object.keys(map)) {
    if (k === '*' || (FIELD_GROUP_NAMES as string[]).includes(k) || (CUSTOMER_FIELDS as readonly string[]).includes(k)) continue;
    ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is neither a field group, a customer field nor "*"` });
  }
});

const conditions = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  for (const p of checkConditions(value)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
});

const ruleSchema = z.object({
  id: ruleId,
  description: z.string().min(1),
  who: whoSchema.default({ external: false }),
  actions: z.array(z.enum(ACTIONS)).min(1),
  scope: conditions.optional(),
  fields: fieldOutcomes.optional(),
}).strict();

const contextRuleSchema = z.object({
  id: ruleId,
  description: z.string().min(1),
  who: whoSchema.default({ external: false }),
  actions: z.array(z.enum(ACTIONS)).min(1),
  channels: z.array(z.enum(CHANNEL_KINDS)).min(1).optional(),
  workingHours: z.literal(true).optional(),
  purpose: z.literal(true).optional(),
}).strict().refine((r) => r.channels || r.workingHours || r.purpose, { message: 'a context rule needs channels, workingHours or purpose' });

const approverSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('department_head'), department: z.union([z.enum(DEPARTMENTS), z.literal('owner')]) }).strict(),
  z.object({ kind: z.literal('manager') }).strict(),
  z.object({ kind: z.literal('role'), role: z.enum(ROLES) }).strict(),
]);

const approvalSchema = z.object({
  id: ruleId,
  description: z.string().min(1),
  who: whoSchema.default({ external: false }),
  groups: z.array(z.enum(FIELD_GROUP_NAMES as [string, ...string[]])).min(1),
  approvers: z.array(approverSchema).min(1),
  quorum: z.number().int().min(1).max(5),
  maxDurationMinutes: z.number().int().min(1).max(60 * 24 * 30),
  reasonRequired: z.boolean().default(true),
  selfApproval: z.literal(false).default(false),
}).strict();

const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'times are HH:MM (24-hour)');
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const settingsSchema = z.object({
  workingHours: z.object({
    days: z.array(z.enum(WEEKDAYS)).min(1),
    start: hhmm,
    end: hhmm,
  }).strict().refine((w) => w.start < w.end, { message: 'workingHours.start must be before end' }),
  // Approval timing and export limits (issue 6); optional, defaults in bot/core/approvals/settings.ts.
  approvalTimeouts: z.object({
    remindAfterMinutes: z.number().int().min(1),
    escalateAfterMinutes: z.number().int().min(1),
    requestTtlMinutes: z.number().int().min(1),
  }).strict().refine((a) => a.remindAfterMinutes <= a.escalateAfterMinutes && a.escalateAfterMinutes <= a.requestTtlMinutes, {
    message: 'approvalTimeouts must satisfy remindAfterMinutes <= escalateAfterMinutes <= requestTtlMinutes',
  }).optional(),
  exportMaxRows: z.number().int().min(1).max(1_000_000).optional(),
  // Who approves exporting an audit query's result (issue 8); default: the DPO, quorum 1, 24 hours.
  auditExport: z.object({
    approvers: z.array(approverSchema).min(1),
    quorum: z.number().int().min(1).max(5),
    maxDurationMinutes: z.number().int().min(1).max(60 * 24 * 30),
  }).strict().optional(),
  // Who approves erasing a customer's personal data when it is asked for in chat (issue 19); default:
  // the DPO, quorum 1. Whoever asks must be allowed `admin`; self-approval is never allowed.
  erasure: z.object({
    approvers: z.array(approverSchema).min(1),
    quorum: z.number().int().min(1).max(5),
  }).strict().optional(),
  // Rate limit and anomaly detectors (issue 8); optional, defaults in policies/security-settings.ts.
  security: securitySettingsSchema.optional(),
}).strict();

export const policyFileSchema = z.object({
  version: z.literal(1),
  description: z.string().optional(),
  settings: settingsSchema.optional(),
  rules: z.array(ruleSchema).default([]),
  context: z.array(contextRuleSchema).default([]),
  approvals: z.array(approvalSchema).default([]),
}).strict();

export type PolicyFile = z.infer<typeof policyFileSchema>;
export type PolicyRule = PolicyFile['rules'][number];
export type ContextRule = PolicyFile['context'][number];
export type ApprovalRule = PolicyFile['approvals'][number];
export type Who = PolicyRule['who'];
export type Settings = z.infer<typeof settingsSchema>;
export type Weekday = (typeof WEEKDAYS)[number];
export { WEEKDAYS };
