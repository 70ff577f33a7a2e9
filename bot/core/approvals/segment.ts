// `/customer export <segment or customer ids> fields:<f1,f2,…>`: the list an export asks for. A segment
// is attribute:value pairs over profile attributes with closed value sets (never operators or free
// text from the user), or explicit customer ids. Fields are customer field names or group names.
import { CUSTOMER_FIELDS, CUSTOMER_STATUSES, CUSTOMER_TIERS, CUSTOMER_TYPES, FIELD_GROUPS, FIELD_GROUP_NAMES, REGIONS, type CustomerField, type FieldGroup } from '../domain.ts';
import { ApprovalRefused } from './errors.ts';
import type { SegmentSpec } from './types.ts';

const SEGMENT_KEYS: Record<string, readonly string[]> = {
  region: REGIONS, status: CUSTOMER_STATUSES, tier: CUSTOMER_TIERS, type: CUSTOMER_TYPES,
};

export function isExportCommand(text: string): boolean {
  return /^\s*export(\s|$)/i.test(text);
}

export function parseExportCommand(text: string): { segment: SegmentSpec; fields: CustomerField[] } {
  const tokens = text.trim().replace(/^export\s*/i, '').split(/\s+/).filter(Boolean);
  const conditions: Record<string, string> = {};
  const customerIds: string[] = [];
  const fields: CustomerField[] = [];
  const bad = (problem: string): never => { throw new ApprovalRefused('segment_invalid', { problem: problem.slice(0, 60) }); };
  for (const token of tokens) {
    const m = /^([A-Za-z]+):(.*)$/.exec(token);
    if (/^C-\d{1,12}(,C-\d{1,12})*$/.test(token)) { customerIds.push(...token.split(',')); continue; }
    if (!m) bad(`"${token}"`);
    const key = m![1]!.toLowerCase();
    const value = m![2]!;
    if (key === 'fields') {
      for (const name of value.split(',').filter(Boolean)) {
        if ((FIELD_GROUP_NAMES as string[]).includes(name)) fields.push(...FIELD_GROUPS[name as FieldGroup]);
        else if ((CUSTOMER_FIELDS as readonly string[]).includes(name)) fields.push(name as CustomerField);
        else bad(`fields:${name}`);
      }
      continue;
    }
    const allowed = SEGMENT_KEYS[key];
    if (!allowed) bad(`${key}:`);
    if (!allowed!.includes(value)) bad(`${key}:${value}`);
    if (conditions[key] !== undefined) bad(`${key} twice`);
    conditions[key] = value;
  }
  if (fields.length === 0) bad('fields: is missing');
  if (Object.keys(conditions).length === 0 && customerIds.length === 0) bad('no region:, status:, tier:, type: or customer ids');
  return { segment: { conditions, customerIds: [...new Set(customerIds)] }, fields: [...new Set(fields)] };
}
