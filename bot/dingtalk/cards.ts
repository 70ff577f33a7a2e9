// Every neutral view (ReplyView, FormView, approval, review and security cards) as the string variables
// (`cardParamMap`) of custos's one DingTalk card template; lists travel as JSON strings (README: DingTalk
// setup). Texts arrive finished in the reader's language (zh-CN or en), masked by the core; plain text.
//  title   the card's title ('' for none)         tone     info | refusal | error | card | pending | done
//  lines   JSON ["…"]: paragraphs                 fields   JSON [{group, label, value}]
//  footer  the audit reference / status line      buttons  JSON [{id, text, value, style}]
//  inputs  JSON [{name, label, kind, initial, options}]: the form's inputs (kind text | number | multi)
// A button's `id` is the codec's action name and `value` its encoded value (bot/conversation/codec.ts);
// the template's "回传请求" sends both back with the inputs' values, decoded like on every platform.
import { encodeAction } from '../conversation/codec.ts';
import type { CardUpdate, FormView, ReplyView } from '../conversation/types.ts';
import { clipChars } from '../core/clip.ts';
import type { AuditTableView } from '../core/audit-query-views.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { AlertView } from '../core/security/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import type { CardParams } from './api.ts';

const MAX_FIELDS = 60;
const MAX_BUTTONS = 12;
const MAX_VALUE = 300;
const MAX_TEXT = 4000;
const MAX_ROWS = 50;

/** Submit buttons of the two forms: their value is the form's metadata (request) or the request id (deny). */
export const FORM_ACTIONS = { request: 'form_request', deny: 'form_deny' } as const;

export interface CardButton { id: string; text: string; value: string; style?: 'primary' | 'danger' }
export interface CardInput { name: string; label: string; kind: 'text' | 'number' | 'multi'; initial?: string; options?: { value: string; text: string }[] }

interface Parts { title?: string; tone: string; lines?: string[]; fields?: { group: string; label: string; value: string }[]; footer?: string; buttons?: CardButton[]; inputs?: CardInput[] }

function params(p: Parts): CardParams {
  return {
    title: clipChars(p.title ?? '', 100),
    tone: p.tone,
    lines: JSON.stringify((p.lines ?? []).map((l) => clipChars(l, MAX_TEXT))),
    fields: JSON.stringify((p.fields ?? []).slice(0, MAX_FIELDS)),
    footer: clipChars(p.footer ?? '', 500),
    buttons: JSON.stringify(buttonsOf(p)),
    inputs: JSON.stringify(p.inputs ?? []),
  };
}

/** The buttons a card carries, as rendered (the card ledger remembers exactly these). */
export function buttonsOf(p: { buttons?: CardButton[] }): CardButton[] {
  return (p.buttons ?? []).slice(0, MAX_BUTTONS).map((b) => ({ ...b, text: clipChars(b.text, 40) }));
}

/** The buttons in rendered params (what a click on this card may send back). */
export function buttonsIn(cardParams: CardParams): CardButton[] {
  return JSON.parse(cardParams.buttons ?? '[]') as CardButton[];
}

const line = (l: { label: string; value: string }) => `${l.label}: ${l.value}`;

export function renderView(view: ReplyView): CardParams {
  switch (view.kind) {
    case 'notice':
      return params({ tone: view.tone, lines: [view.text] });
    case 'help':
      return params({ title: view.title, tone: 'info', lines: view.lines });
    case 'pick':
      return params({
        tone: 'info',
        lines: [view.intro, ...view.candidates.map((c) => `${c.customerId}\n${c.summary}`)],
        buttons: view.candidates.map((c) => ({ id: 'pick', text: `${c.button.label} ${c.customerId}`, value: c.button.value })),
      });
    case 'card': {
      const fields = view.groups.flatMap((g) => g.fields.map((f) => ({ group: g.label, label: f.label, value: clipChars(f.value, MAX_VALUE) })));
      const buttons: CardButton[] = [];
      if (view.share) buttons.push({ id: 'share', text: view.share.label, value: encodeAction({ name: 'share', customerId: view.share.value }) });
      for (const r of view.requests ?? []) buttons.push({ id: r.kind, text: r.label, value: r.value });
      return params({ title: view.title, tone: 'card', fields, footer: view.footer, buttons });
    }
    case 'audit-table':
      return renderAuditTable(view);
  }
}

/** An audit table: the header and one line per event (ids and codes only), Older / Newer / Export. */
function renderAuditTable(view: AuditTableView): CardParams {
  const buttons: CardButton[] = [];
  if (view.newer) buttons.push({ id: 'audit_page', text: view.newer.label, value: view.newer.value });
  if (view.older) buttons.push({ id: 'audit_page', text: view.older.label, value: view.older.value });
  if (view.export) buttons.push({ id: 'audit_export', text: view.export.label, value: view.export.value });
  const rows = view.rows.slice(0, MAX_ROWS);
  return params({ title: view.title, tone: 'info', lines: [view.header, ...(rows.length ? rows : [view.empty ?? ''])], footer: view.footer, buttons });
}

/** A request card copy (approver: Approve / Deny; requester: Cancel; decided: none). */
export function renderApproval(view: ApprovalView): CardParams {
  const tone = view.status.state === 'pending' ? 'pending' : 'done';
  return params({
    title: view.title, tone, lines: view.lines.map(line), footer: view.status.text,
    buttons: view.buttons.map((b) => ({ id: b.action, text: b.label, value: b.value, ...(b.style ? { style: b.style } : {}) })),
  });
}

export function renderReview(view: ReviewCardView): CardParams {
  return params({
    title: view.title, tone: view.buttons.length ? 'pending' : 'done', lines: view.lines.map(line), footer: view.status,
    buttons: view.buttons.map((b) => ({ id: `review_${b.decision}`, text: b.label, value: view.reviewId, style: b.style })),
  });
}

export function renderAlert(view: AlertView): CardParams {
  return params({
    title: view.title, tone: 'refusal', lines: view.lines,
    buttons: view.buttons.map((b) => ({ id: `security_${b.decision}`, text: b.label, value: view.employeeId, ...(b.decision === 'revoke' ? { style: 'danger' as const } : {}) })),
  });
}

/** A clicked card's new state for everyone who sees it (a settled review, an alert acted on). */
export function renderUpdate(update: CardUpdate): CardParams {
  return update.kind === 'review' ? renderReview(update.view) : params({ title: update.title, tone: 'done', lines: [update.line] });
}

/**
 * A form as a card with inputs (decision, README: DingTalk): the request form asks for the purpose,
 * the duration and, for access, the groups; the Deny form for the reason. Its submit button carries the
 * form's metadata, and DingTalk returns the inputs' values with the click.
 */
export function renderForm(form: FormView): CardParams {
  if (form.kind === 'deny') {
    const f = form.form;
    return params({
      title: f.title, tone: 'pending', lines: form.card.lines.map(line),
      inputs: [{ name: 'reason', label: f.reasonLabel, kind: 'text' }],
      buttons: [{ id: FORM_ACTIONS.deny, text: f.submit, value: f.metadata, style: 'danger' }],
    });
  }
  const f = form.form;
  const inputs: CardInput[] = [
    { name: 'purpose', label: f.reasonLabel, kind: 'text' },
    { name: 'duration', label: f.duration.label, kind: 'number', initial: String(f.duration.initial) },
  ];
  if (f.groups) inputs.push({ name: 'groups', label: f.groups.label, kind: 'multi', options: f.groups.options.map((o) => ({ value: o.value, text: o.label })) });
  const lines = [f.summary, ...(f.fieldOutcomes ? [f.fieldOutcomes.label, ...f.fieldOutcomes.items] : [])];
  return params({ title: f.title, tone: 'pending', lines, inputs, buttons: [{ id: FORM_ACTIONS.request, text: f.submit, value: f.metadata, style: 'primary' }] });
}
