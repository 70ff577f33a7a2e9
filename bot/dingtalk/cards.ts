// Every neutral view, flattened into its parts once (bot/conversation/card-parts.ts), as the string
// variables (`cardParamMap`) of custos's one DingTalk card template; lists travel as JSON strings
// (README: DingTalk setup). Plain text, cut to what the template shows.
//  title   the card's title ('' for none)         tone     info | refusal | error | card | pending | done
//  lines   JSON ["…"]: paragraphs                 fields   JSON [{group, label, value}]
//  footer  the audit reference / status line      buttons  JSON [{id, text, value, style}]
//  inputs  JSON [{name, label, kind, initial, options}]: the form's inputs (kind text | number | multi)
// The template's "回传请求" sends a button's `id` and `value` back with the inputs' values, decoded
// like on every platform (bot/conversation/codec.ts).
import {
  alertParts, approvalParts, formParts, replyParts, reviewParts, updateParts, type CardParts, type PartButton,
} from '../conversation/card-parts.ts';
import type { CardUpdate, FormView, ReplyView } from '../conversation/types.ts';
import { clipChars } from '../core/clip.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { AlertView } from '../core/security/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import type { CardParams } from './api.ts';

const MAX_FIELDS = 60;
const MAX_BUTTONS = 12;
const MAX_VALUE = 300;
const MAX_TEXT = 4000;
const MAX_ROWS = 50;

export interface CardButton { id: string; text: string; value: string; style?: 'primary' | 'danger' }

function params(p: CardParts): CardParams {
  const lines = [...p.lines, ...(p.entries ?? []).map((e) => `${e.head}\n${e.text}`), ...(p.rows ?? []).slice(0, MAX_ROWS)];
  const fields = (p.groups ?? []).flatMap((g) => g.fields.map((f) => ({ group: g.label, label: f.label, value: clipChars(f.value, MAX_VALUE) })));
  return {
    title: clipChars(p.title ?? '', 100),
    tone: p.tone,
    lines: JSON.stringify(lines.map((l) => clipChars(l, MAX_TEXT))),
    fields: JSON.stringify(fields.slice(0, MAX_FIELDS)),
    footer: clipChars(p.footer ?? '', 500),
    buttons: JSON.stringify(p.buttons.slice(0, MAX_BUTTONS).map(button)),
    inputs: JSON.stringify(p.inputs ?? []),
  };
}

/** A Pick button names its customer after the label. */
function button(b: PartButton): CardButton {
  const text = clipChars(b.subject ? `${b.label} ${b.subject}` : b.label, 40);
  return { id: b.id, text, value: b.value, ...(b.style ? { style: b.style } : {}) };
}

/** The buttons in rendered params (what a click on this card may send back; the click ledger remembers exactly these). */
export function buttonsIn(cardParams: CardParams): CardButton[] {
  return JSON.parse(cardParams.buttons ?? '[]') as CardButton[];
}

export const renderView = (view: ReplyView): CardParams => params(replyParts(view));
export const renderApproval = (view: ApprovalView): CardParams => params(approvalParts(view));
export const renderReview = (view: ReviewCardView): CardParams => params(reviewParts(view));
export const renderAlert = (view: AlertView): CardParams => params(alertParts(view));
export const renderUpdate = (update: CardUpdate): CardParams => params(updateParts(update));
/** A form as a card with inputs (decision, README: DingTalk); DingTalk returns the inputs' values with the click. */
export const renderForm = (form: FormView): CardParams => params(formParts(form));
