// WeCom rendering of the neutral views (bot/core/views.ts). An application message is one-to-one, so
// every view is a private reply: a text message (at most 2048 bytes, WeCom cuts longer ones) for what
// is read, and a button card (`template_card` of type `button_interaction`) for what is clicked. A
// button's `key` carries the action's wire id and its codec value (`pick|C-000123`), decoded by the
// conversation layer's one codec when WeCom sends the click back. Values are masked by the core; text
// messages are plain text, so nothing in a value can format or link.
import { randomBytes } from 'node:crypto';
import { decodeAction } from '../conversation/codec.ts';
import { alertParts, approvalParts, replyParts, reviewParts, type CardParts, type PartButton } from '../conversation/card-parts.ts';
import type { ReplyView } from '../conversation/types.ts';
import { clipBytes, clipChars } from '../core/clip.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { NoticeView } from '../core/security/notices.ts';
import type { AlertView } from '../core/security/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';

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

/** The wire id and value of a clicked button's key, or null for a key custos never wrote. */
export function parseButtonKey(key: string): { wireId: string; value: string } | null {
  const at = key.indexOf('|');
  return at > 0 ? { wireId: key.slice(0, at), value: key.slice(at + 1) } : null;
}

/** A task id unique within the app (WeCom refuses a repeated one): letters, digits, `_-@`. */
export function newTaskId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('base64url')}`.slice(0, LIMITS.taskIdBytes);
}

type Neutral = ReplyView | ReviewCardView | AlertView | NoticeView;

/** Every neutral view custos shows on WeCom: its text, and a card when it has buttons. */
export function renderView(view: Neutral): Rendered {
  if ('kind' in view) return rendered(replyParts(view));
  if ('reviewId' in view) return rendered(reviewParts(view));
  if ('employeeId' in view) return rendered(alertParts(view));
  return rendered(replyParts({ kind: 'help', title: view.title, lines: view.lines }));
}

/** A request card copy: its text, and a card while it has buttons. */
export const renderApproval = (view: ApprovalView): Rendered => rendered(approvalParts(view));

/**
 * The parts (bot/conversation/card-parts.ts) as a text to read: the title, the lines, a Pick's
 * candidates, a table's rows, one block per field group (its name, then `label: value` per field), and
 * the footer under a rule; and, when it has buttons WeCom can carry, a card of them, titled as the view
 * (a Pick: by its intro) with its status line, else the line under its title, beneath.
 */
function rendered(p: CardParts): Rendered {
  const blocks = (p.groups ?? []).map((g) => [`【${g.label}】`, ...g.fields.map((f) => `${f.label}: ${f.value}`)].join('\n'));
  const lines = [
    ...(p.title !== undefined ? [p.title] : []), ...p.lines, ...(p.entries ?? []).map((e) => `${e.head}  ${e.text}`), ...(p.rows ?? []), ...blocks,
    ...(p.footer !== undefined ? ['——', p.footer] : []),
  ];
  const text = clipBytes(lines.join('\n'), LIMITS.textBytes);
  // WeCom refuses a repeated key: one button per key.
  const buttons = p.buttons.flatMap((b) => cardButton(b) ?? []).filter((b, i, all) => all.findIndex((x) => x.key === b.key) === i);
  if (buttons.length === 0) return { text };
  const subtitle = (p.footer ?? (p.title !== undefined ? p.lines[0] ?? '' : '')).trim();
  // WeCom refuses an empty title.
  const title = (p.title ?? p.lines[0] ?? '').trim() || 'custos';
  return {
    text,
    card: {
      card_type: 'button_interaction',
      source: { desc: 'custos' },
      main_title: { title: clipChars(title, LIMITS.titleChars) },
      ...(subtitle ? { sub_title_text: clipChars(subtitle, LIMITS.subtitleChars) } : {}),
      task_id: newTaskId('c'),
      button_list: buttons.slice(0, LIMITS.buttons),
    },
  };
}

/**
 * A button WeCom can carry, keyed `wireId|value` (the click's EventKey): a value the core made (opaque
 * to us) that the one codec reads back, in a key of at most 1024 bytes (a longer one, an audit page
 * token, is left out: the query can be typed again). Share is not offered: an application message is a
 * one-to-one chat, where the layer would refuse it anyway. Six buttons of ten characters fit, so a
 * Pick's is its customer id (the other candidates are listed, and their ids can be typed); an empty
 * label is named by the action, as WeCom refuses one.
 */
function cardButton(b: PartButton): TemplateButton | null {
  const key = `${b.id}|${b.value}`;
  if (b.id === 'share' || !decodeAction(b.id, b.value).ok || Buffer.byteLength(key) > LIMITS.keyBytes) return null;
  const label = b.subject ?? b.label;
  return { text: clipChars(label.trim() ? label : b.id, LIMITS.buttonChars), style: b.style === 'danger' ? 2 : 1, key };
}
