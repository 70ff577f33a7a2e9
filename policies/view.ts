// Applies a policy decision to a customer: the only place where customer values become display
// strings. Hidden fields are dropped, masked ones go through the masking library, shown ones are
// formatted. The result holds no raw value of a masked or hidden field, so adapters can render it as is.
import { mask } from './mask/index.ts';
import type { Decision, FieldOutcome } from './types.ts';
import { FIELD_GROUPS, FIELD_GROUP_NAMES, type Customer, type CustomerField, type FieldGroup } from '../bot/domain/domain.ts';

/** `asIs`: a masked outcome whose mask left the value whole (a `loose` name): no "masked" badge. */
export interface ShownField { field: CustomerField; group: FieldGroup; value: string; outcome: FieldOutcome; asIs?: true }

function day(d: Date): string {
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 10);
}

/** A shown (unmasked) value as text: dates as YYYY-MM-DD, lists joined, follow-ups and contracts one line each. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return day(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.map(formatItem).join('; ');
  return JSON.stringify(value);
}

function formatItem(item: unknown): string {
  if (item && typeof item === 'object' && !(item instanceof Date)) {
    const o = item as Record<string, unknown>;
    if ('contractNo' in o) return `${formatValue(o.contractNo)} ${formatValue(o.title)} ¥${formatValue(o.amount)} (${formatValue(o.signedAt)})`;
    if ('note' in o) return `${formatValue(o.at)} ${formatValue(o.by)}: ${formatValue(o.note)}`;
  }
  return formatValue(item);
}

/** The fields `decision` lets the viewer see, in display order, with masks applied on the server. */
export function applyDecision(customer: Customer, decision: Decision): ShownField[] {
  const shown: ShownField[] = [];
  if (!decision.allowed) return shown;
  for (const group of FIELD_GROUP_NAMES) {
    for (const field of FIELD_GROUPS[group]) {
      const outcome = decision.fields[field]?.outcome ?? 'hide';
      const value: unknown = customer[field];
      if (outcome === 'hide' || value === undefined || value === null) continue;
      const text = outcome === 'show' ? formatValue(value) : mask(value, outcome.slice(5));
      const asIs = outcome !== 'show' && text === formatValue(value);
      shown.push({ field, group, value: text, outcome, ...(asIs ? { asIs: true as const } : {}) });
    }
  }
  return shown;
}
