// WeCom rendering of the neutral views (bot/core/views.ts). An application message is one-to-one, so
// every view is a private reply: a text message (at most 2048 bytes, WeCom cuts longer ones) for what
// is read, and a button card (`template_card` of type `button_interaction`) for what is clicked. A
// button's `key` carries the action's wire id and its codec value (`pick|C-000123`), decoded by the
// conversation layer's one codec when WeCom sends the click back. Values are masked by the core; text
// messages are plain text, so nothing in a value can format or link.
import { randomBytes } from 'node:crypto';
import { decodeAction, encodeAction, type Action } from '../conversation/codec.ts';
import type { ReplyView } from '../conversation/types.ts';
import { clipBytes, clipChars } from '../core/clip.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { NoticeView } from '../core/security/notices.ts';
import type { AlertView } from '../core/security/views.ts';

/**
 * The label a clicked card's buttons become in its one update (a button's length, so a word, not the
 * status sentence: the clicker's reply and the messages carry the sentence). In the language of the
 * view it replaces, which is the reader's: Chinese when the view's text is.
 */
const FINAL_LABELS = {
  approved: ['已批准', 'Approved'], denied: ['已拒绝', 'Denied'], expired: ['已过期', 'Expired'], cancelled: ['已撤回', 'Cancelled'], done: ['已处理', 'Done'],
} as const;
export function finalLabel(outcome: keyof typeof FINAL_LABELS, viewText: string): string {
  return FINAL_LABELS[outcome][/[\u3400-\u9fff]/.test(viewText) ? 0 : 1];
}

/** WeCom's limits on what custos sends (message/send; the fake enforces the same). */
export const LIMITS = { textBytes: 2048, buttons: 6, keyBytes: 1024, taskIdBytes: 128, buttonChars: 10, titleChars: 26, subtitleChars: 112, sourceChars: 13 } as const;

export interface TemplateButton { text: string; style: 1 | 2 | 3 | 4; key: string }
export interface TemplateCard {
  card_type: 'button_interaction';
  source: { desc: string };
  main_title: { title: string; desc?: string };
  sub_title_text?: string;
  task_id: string;
  button_list: TemplateButton[];
}

/** Cut to WeCom's limits (LIMITS) by the other files too. */
export { clipBytes };

/** What one view becomes: a text to read, and perhaps a card of buttons sent after it. */
export interface Rendered { text: string; card?: TemplateCard }

/** `wireId|value`: the click's EventKey. */
export function buttonKey(action: Action): string {
  return `${action.name}|${encodeAction(action)}`;
}

/** The wire id and value of a clicked button's key, or null for a key custos never wrote. */
export function parseButtonKey(key: string): { wireId: string; value: string } | null {
  const at = key.indexOf('|');
  return at > 0 ? { wireId: key.slice(0, at), value: key.slice(at + 1) } : null;
}

/** A task id unique within the app (WeCom refuses a repeated one): letters, digits, `_-@`. */
export function newTaskId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('base64url')}`.slice(0, LIMITS.taskIdBytes);
}

export function buttonCard(title: string, subtitle: string, buttons: { label: string; action: Action; style?: TemplateButton['style'] }[]): TemplateCard {
  return {
    card_type: 'button_interaction',
    source: { desc: 'custos' },
    main_title: { title: clipChars(title, LIMITS.titleChars) },
    ...(subtitle ? { sub_title_text: clipChars(subtitle, LIMITS.subtitleChars) } : {}),
    task_id: newTaskId('c'),
    button_list: buttons.slice(0, LIMITS.buttons).map((b) => ({ text: clipChars(b.label, LIMITS.buttonChars), style: b.style ?? 1, key: buttonKey(b.action) })),
  };
}

type Neutral = ReplyView | ReviewCardView | AlertView | NoticeView;

/** Every neutral view custos shows on WeCom: its text, and a card when it has buttons. */
export function renderView(view: Neutral): Rendered {
  if (!('kind' in view)) {
    if ('reviewId' in view) return withButtons([view.title, ...lineTexts(view.lines), '——', view.status], view.title, view.status, view.buttons.map((b) => ({ label: b.label, action: { name: b.decision === 'keep' ? 'review_keep' as const : 'review_revoke' as const, reviewId: view.reviewId }, style: b.style === 'danger' ? 2 as const : 1 as const })));
    if ('employeeId' in view) return withButtons([view.title, ...view.lines], view.title, view.lines[0] ?? '', view.buttons.map((b) => ({ label: b.label, action: { name: SECURITY_ACTION[b.decision], employeeId: view.employeeId }, style: b.decision === 'revoke' ? 2 as const : 1 as const })));
    return { text: clipBytes([view.title, ...view.lines].join('\n'), LIMITS.textBytes) };
  }
  switch (view.kind) {
    case 'notice':
      return { text: clipBytes(view.text, LIMITS.textBytes) };
    case 'help':
      return { text: clipBytes([view.title, ...view.lines].join('\n'), LIMITS.textBytes) };
    case 'pick': {
      const lines = view.candidates.map((c) => `${c.customerId}  ${c.summary}`);
      // Six buttons at most: the rest are listed, and their ids can be typed.
      const buttons = view.candidates.map((c) => ({ label: c.customerId, action: { name: 'pick' as const, customerId: c.button.value } }));
      return withButtons([view.intro, ...lines], view.intro, '', buttons);
    }
    case 'card': {
      // One block per field group: its name, then `label: value` per field. Share is not offered: an
      // application message is a one-to-one chat, where the layer would refuse it anyway.
      const blocks = view.groups.map((g) => [`【${g.label}】`, ...g.fields.map((f) => `${f.label}: ${f.value}`)].join('\n'));
      const buttons = (view.requests ?? []).flatMap((r) => decodedButton(r.label, r.kind, r.value));
      return withButtons([view.title, ...blocks, '——', view.footer], view.title, view.footer, buttons);
    }
    case 'audit-table': {
      const pages = [view.newer && { ...view.newer, wire: 'audit_newer' }, view.older && { ...view.older, wire: 'audit_older' }, view.export && { ...view.export, wire: 'audit_export' }];
      const buttons = pages.flatMap((b) => (b ? decodedButton(b.label, b.wire, b.value) : []));
      return withButtons([view.title, view.header, ...(view.rows.length ? view.rows : [view.empty ?? '']), '——', view.footer], view.title, view.footer, buttons);
    }
  }
}

const SECURITY_ACTION = { unfreeze: 'security_unfreeze', keep: 'security_keep', revoke: 'security_revoke' } as const;

function lineTexts(lines: { label: string; value: string }[]): string[] {
  return lines.map((l) => `${l.label}: ${l.value}`);
}

/** A button for a value the core made (opaque to us): decoded by the one codec, or left out. */
function decodedButton(label: string, wireId: string, value: string): { label: string; action: Action }[] {
  const d = decodeAction(wireId, value);
  return d.ok ? [{ label, action: d.action }] : [];
}

/** The text; and a card when there are buttons whose keys fit (a longer one, an audit page token, is left out: the query can be typed again). */
function withButtons(lines: string[], title: string, subtitle: string, buttons: { label: string; action: Action; style?: TemplateButton['style'] }[]): Rendered {
  const text = clipBytes(lines.join('\n'), LIMITS.textBytes);
  // WeCom refuses a repeated key and an empty label or title: one button per key, named at least by its id.
  const fitting = buttons.filter((b, i) => Buffer.byteLength(buttonKey(b.action)) <= LIMITS.keyBytes && buttons.findIndex((x) => buttonKey(x.action) === buttonKey(b.action)) === i)
    .map((b) => (b.label.trim() ? b : { ...b, label: b.action.name }));
  return fitting.length ? { text, card: buttonCard(title.trim() || 'custos', subtitle.trim(), fitting) } : { text };
}
