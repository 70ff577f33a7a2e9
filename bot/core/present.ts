// Applies a policy decision to one customer: the fields a card may display, in display order, each as
// the string that leaves the server (shown as is, or masked with the decision's preset). Hidden fields
// and fields the decision does not mention never appear. Masking happens here, before any adapter.
import { CUSTOMER_FIELDS, type Customer, type CustomerField } from './domain.ts';
import type { Decision } from '../../policies/types.ts';
import { mask } from '../../policies/mask/index.ts';
import type { ShownField } from './lookup.ts';

const AMOUNT_FIELDS: ReadonlySet<CustomerField> = new Set(['pipelineValue', 'contractAmount', 'outstanding']);

export function presentDecision(customer: Customer, decision: Decision): ShownField[] {
  const shown: ShownField[] = [];
  for (const field of CUSTOMER_FIELDS) {
    const outcome = decision.fields[field]?.outcome;
    const value = customer[field];
    if (!outcome || outcome === 'hide' || value === undefined || value === null) continue;
    const text = outcome === 'show' ? display(field, value) : mask(value, outcome.slice('mask:'.length));
    shown.push({ field, value: text, outcome });
  }
  return shown;
}

/** The plain display form of an unmasked value. */
export function display(field: CustomerField, value: unknown): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'number') return AMOUNT_FIELDS.has(field) ? `¥${value.toLocaleString('en-US')}` : String(value);
  if (Array.isArray(value)) return value.length === 0 ? '—' : value.map((v) => displayItem(v)).join('；');
  return String(value);
}

function displayItem(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  const o = v as Record<string, unknown>;
  if ('note' in o) return `${display('lastContactAt', o.at)} ${String(o.by ?? '')}: ${String(o.note ?? '')}`.trim();
  if ('contractNo' in o) return `${String(o.contractNo)} ${String(o.title ?? '')} (${display('contractAmount', o.amount)}, ${display('lastContactAt', o.signedAt)})`;
  return JSON.stringify(o);
}
