// What a card says, platform-free: every neutral view (the layer's replies, approval copies, review
// and alert cards, a clicked card's update, the two forms) flattened once into the parts a flat card
// shows — a title, a tone, paragraphs, a Pick's candidates or a table's rows, grouped fields, a footer,
// buttons and a form's inputs. A platform whose card is a fixed template or a text with buttons
// (DingTalk's card template variables, WeCom's text and template_card) maps these parts to its own
// shape and limits; which texts appear, in what order, and which action each button sends is decided
// here. Texts arrive finished in the reader's language and masked by the core.
import { encodeAction, type ActionName, type FormName } from './codec.ts';
import type { CardUpdate, FormView, ReplyView } from './types.ts';
import type { AuditTableView } from '../core/audit-query-views.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { AlertView } from '../core/security/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';

/** Submit buttons of the two forms: their value is the form's metadata (request) or the request id (deny). */
export const FORM_ACTIONS = { request: 'form_request', deny: 'form_deny' } as const;

export type FormAction = (typeof FORM_ACTIONS)[keyof typeof FORM_ACTIONS];

/** The form a button submits (its id one of FORM_ACTIONS), or null for any other button. */
export function submittedForm(id: string): FormName | null {
  return id === FORM_ACTIONS.request ? 'request' : id === FORM_ACTIONS.deny ? 'deny' : null;
}

export type CardTone = 'info' | 'refusal' | 'error' | 'card' | 'pending' | 'done';

/**
 * A button: `id` is the codec's action name (or a form's submit, FORM_ACTIONS) and `value` its encoded
 * value (codec.ts). `subject`: what it acts on where the label alone does not say (a Pick's customer id).
 */
export interface PartButton { id: ActionName | FormAction; label: string; value: string; subject?: string; style?: 'primary' | 'danger' }

export interface PartInput { name: string; label: string; kind: 'text' | 'number' | 'multi'; initial?: string; options?: { value: string; text: string }[] }

export interface CardParts {
  /** Absent on a card without one (a notice, a Pick, an alert acted on keeps its). */
  title?: string;
  tone: CardTone;
  lines: string[];
  /** A Pick's candidates: the customer id, and its summary. */
  entries?: { head: string; text: string }[];
  /** A table's rows under its lines (the audit table; its `empty` sentence when there are none). */
  rows?: string[];
  groups?: { label: string; fields: { label: string; value: string }[] }[];
  /** The audit reference or the status line; absent when the card has none. */
  footer?: string;
  buttons: PartButton[];
  inputs?: PartInput[];
}

const labelled = (lines: { label: string; value: string }[]) => lines.map((l) => `${l.label}: ${l.value}`);

export function replyParts(view: ReplyView): CardParts {
  switch (view.kind) {
    case 'notice':
      return { tone: view.tone, lines: [view.text], buttons: [] };
    case 'help':
      return { title: view.title, tone: 'info', lines: view.lines, buttons: [] };
    case 'pick':
      return {
        tone: 'info', lines: [view.intro],
        entries: view.candidates.map((c) => ({ head: c.customerId, text: c.summary })),
        buttons: view.candidates.map((c) => ({ id: 'pick', label: c.button.label, value: c.button.value, subject: c.customerId })),
      };
    case 'card': {
      const buttons: PartButton[] = [];
      if (view.share) buttons.push({ id: 'share', label: view.share.label, value: encodeAction({ name: 'share', customerId: view.share.value }) });
      for (const r of view.requests ?? []) buttons.push({ id: r.kind, label: r.label, value: r.value });
      return { title: view.title, tone: 'card', lines: [], groups: view.groups, footer: view.footer, buttons };
    }
    case 'audit-table':
      return auditTableParts(view);
  }
}

/** An audit table: the header and one row per event (ids and codes only), Newer / Older / Export. */
function auditTableParts(view: AuditTableView): CardParts {
  const buttons: PartButton[] = [];
  if (view.newer) buttons.push({ id: 'audit_page', label: view.newer.label, value: view.newer.value });
  if (view.older) buttons.push({ id: 'audit_page', label: view.older.label, value: view.older.value });
  if (view.export) buttons.push({ id: 'audit_export', label: view.export.label, value: view.export.value });
  const rows = view.rows.length ? view.rows : [view.empty ?? ''];
  return { title: view.title, tone: 'info', lines: [view.header], rows, footer: view.footer, buttons };
}

/** A request card copy (approver: Approve / Deny; requester: Cancel; decided: none). */
export function approvalParts(view: ApprovalView): CardParts {
  return {
    title: view.title, tone: view.status.state === 'pending' ? 'pending' : 'done', lines: labelled(view.lines), footer: view.status.text,
    buttons: view.buttons.map((b) => ({ id: b.action, label: b.label, value: b.value, ...(b.style ? { style: b.style } : {}) })),
  };
}

export function reviewParts(view: ReviewCardView): CardParts {
  return {
    title: view.title, tone: view.buttons.length ? 'pending' : 'done', lines: labelled(view.lines), footer: view.status,
    buttons: view.buttons.map((b) => ({ id: `review_${b.decision}`, label: b.label, value: view.reviewId, style: b.style })),
  };
}

export function alertParts(view: AlertView): CardParts {
  return {
    title: view.title, tone: 'refusal', lines: view.lines,
    buttons: view.buttons.map((b) => ({ id: `security_${b.decision}`, label: b.label, value: view.employeeId, ...(b.decision === 'revoke' ? { style: 'danger' as const } : {}) })),
  };
}

/** A clicked card's new state for everyone who sees it (a settled review, an alert acted on). */
export function updateParts(update: CardUpdate): CardParts {
  return update.kind === 'review' ? reviewParts(update.view) : { title: update.title, tone: 'done', lines: [update.line], buttons: [] };
}

/**
 * A form as a card with inputs: the request form asks for the purpose, the duration and, for access,
 * the groups; the Deny form for the reason, under the card it denies. Its submit button carries the
 * form's metadata; the platform returns the inputs' values with the click.
 */
export function formParts(form: FormView): CardParts {
  if (form.kind === 'deny') {
    const f = form.form;
    return {
      title: f.title, tone: 'pending', lines: labelled(form.card.lines),
      inputs: [{ name: 'reason', label: f.reasonLabel, kind: 'text' }],
      buttons: [{ id: FORM_ACTIONS.deny, label: f.submit, value: f.metadata, style: 'danger' }],
    };
  }
  const f = form.form;
  const inputs: PartInput[] = [
    { name: 'purpose', label: f.reasonLabel, kind: 'text' },
    { name: 'duration', label: f.duration.label, kind: 'number', initial: String(f.duration.initial) },
  ];
  if (f.groups) inputs.push({ name: 'groups', label: f.groups.label, kind: 'multi', options: f.groups.options.map((o) => ({ value: o.value, text: o.label })) });
  const lines = [f.summary, ...(f.fieldOutcomes ? [f.fieldOutcomes.label, ...f.fieldOutcomes.items] : [])];
  return { title: f.title, tone: 'pending', lines, inputs, buttons: [{ id: FORM_ACTIONS.request, label: f.submit, value: f.metadata, style: 'primary' }] };
}
