// Lark card JSON 2.0 for the approval flow's neutral views (bot/core/views-approval.ts), the Lark
// counterpart of bot/slack/approval-blocks.ts. Lark has no modals: the request form and the deny form
// are form containers inside a card (inputs + a submit button; `action.form_value` comes back with the
// click). The approver's Deny opens the reason form in place, on that approver's own copy of the card.
import type { ApprovalView, DenyForm, RequestForm } from '../core/views-approval.ts';
import { button, card, plain, text, type CardElement, type FormField } from './cards.ts';

export const ACTION_APPROVE = 'approve';
export const ACTION_DENY = 'deny';
export const ACTION_CANCEL = 'cancel';
export const ACTION_REQUEST_SUBMIT = 'request_submit';
export const ACTION_DENY_SUBMIT = 'deny_submit';
export const INPUT_REASON = 'reason';
export const INPUT_DURATION = 'duration';
export const INPUT_GROUPS = 'groups';
const REASON_MAX = 500;

const TEMPLATE = { pending: 'blue', approved: 'green', denied: 'red', expired: 'grey', cancelled: 'grey', grant_expired: 'grey' } as const;

/** The request card; with `deny`, the approver's copy shows the reason form instead of its buttons. */
export function renderApproval(view: ApprovalView, deny?: { form: DenyForm; problem?: string }): ReturnType<typeof card> {
  const elements: CardElement[] = [
    text(view.lines.map((l) => `${l.label}: ${l.value}`).join('\n')),
    { tag: 'hr' },
    text(view.status.text),
  ];
  if (deny && view.status.state === 'pending') {
    elements.push(denyForm(view.requestId, deny.form, deny.problem));
  } else {
    for (const b of view.buttons) elements.push(button(b.label, { a: b.action, r: b.value }, b.style ?? 'default'));
  }
  return card(view.title, elements, TEMPLATE[view.status.state]);
}

function denyForm(requestId: string, form: DenyForm, problem?: string): CardElement {
  const fields: FormField[] = [];
  if (problem) fields.push(text(problem));
  fields.push(reasonInput(form.reasonLabel));
  fields.push(submit(form.submit, { a: ACTION_DENY_SUBMIT, r: requestId }, 'danger'));
  return { tag: 'form', name: 'deny_form', elements: fields };
}

/**
 * The request form as a card of its own. `nonce` names this copy of the form: a second submission of
 * the same copy (a double click, a retried callback) is answered "already submitted", not a second request.
 */
export function renderRequestForm(form: RequestForm, nonce: string, problem?: string): ReturnType<typeof card> {
  const fields: FormField[] = [];
  if (problem) fields.push(text(problem));
  fields.push(reasonInput(form.reasonLabel));
  fields.push({ tag: 'input', name: INPUT_DURATION, required: true, label: plain(form.duration.label, 100), max_length: 7, default_value: String(form.duration.initial) });
  if (form.groups) {
    fields.push({
      tag: 'multi_select_static', name: INPUT_GROUPS, required: true, placeholder: plain(form.groups.label, 100),
      options: form.groups.options.map((o) => ({ text: plain(o.label, 60), value: o.value })),
    });
  }
  fields.push(submit(form.submit, { a: ACTION_REQUEST_SUBMIT, m: form.metadata, n: nonce }, 'primary'));
  const outcomes = form.fieldOutcomes ? [text([form.fieldOutcomes.label, ...form.fieldOutcomes.items.map((i) => `• ${i}`)].join('\n'))] : [];
  return card(form.title, [text(form.summary), ...outcomes, { tag: 'form', name: 'request_form', elements: fields }]);
}

function reasonInput(label: string): FormField {
  return { tag: 'input', name: INPUT_REASON, required: true, label: plain(label, 100), input_type: 'multiline_text', max_length: REASON_MAX };
}

function submit(label: string, value: Parameters<typeof button>[1], type: 'primary' | 'danger'): FormField {
  return { ...button(label, value, type), name: `${value.a}_button`, form_action_type: 'submit' };
}
