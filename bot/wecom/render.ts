// WeCom rendering of the neutral views (bot/core/views.ts). An application message is one-to-one, so
// every view is a private reply: a text message (at most 2048 bytes, WeCom cuts longer ones) for what
// is read, and a button card (`template_card` of type `button_interaction`) for what is clicked. A
// button's `key` carries the action's wire id and its codec value (`pick|C-000123`), decoded by the
// conversation layer's one codec when WeCom sends the click back. Values are masked by the core; text
// messages are plain text, so nothing in a value can format or link.
import { randomBytes } from 'node:crypto';
import { encodeAction, type Action } from '../conversation/codec.ts';
import type { View } from '../core/views.ts';

/** WeCom's limits on what custos sends (message/send; the fake enforces the same). */
export const LIMITS = { textBytes: 2048, buttons: 6, keyBytes: 1024, taskIdBytes: 128, buttonChars: 10, titleChars: 26, subtitleChars: 112 } as const;

export interface TemplateButton { text: string; style: 1 | 2 | 3 | 4; key: string }
export interface TemplateCard {
  card_type: 'button_interaction';
  source: { desc: string };
  main_title: { title: string; desc?: string };
  sub_title_text?: string;
  task_id: string;
  button_list: TemplateButton[];
}

/** What one view becomes: a text to read, and perhaps a card of buttons sent after it. */
export interface Rendered { text: string; card?: TemplateCard }

export function clipChars(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/** At most `max` UTF-8 bytes, cut on a character boundary. */
export function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max - 3) break;
    out += ch;
  }
  return `${out}…`;
}

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

export function renderView(view: View): Rendered {
  switch (view.kind) {
    case 'notice':
      return { text: clipBytes(view.text, LIMITS.textBytes) };
    case 'help':
      return { text: clipBytes([view.title, ...view.lines].join('\n'), LIMITS.textBytes) };
    case 'pick': {
      const lines = view.candidates.map((c) => `${c.customerId}  ${c.summary}`);
      // Six buttons at most: the rest are listed, and their ids can be typed.
      const buttons = view.candidates.slice(0, LIMITS.buttons).map((c) => ({ label: c.customerId, action: { name: 'pick' as const, customerId: c.button.value } }));
      return { text: clipBytes([view.intro, ...lines].join('\n'), LIMITS.textBytes), card: buttonCard(view.intro, '', buttons) };
    }
    case 'card': {
      // One block per field group: its name, then `label: value` per field. Share is not offered: an
      // application message is a one-to-one chat, where the layer would refuse it anyway.
      const blocks = view.groups.map((g) => [`【${g.label}】`, ...g.fields.map((f) => `${f.label}: ${f.value}`)].join('\n'));
      return { text: clipBytes([view.title, ...blocks, '——', view.footer].join('\n'), LIMITS.textBytes) };
    }
  }
}
