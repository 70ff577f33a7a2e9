// Lark card JSON 2.0 rendering of the neutral views (bot/core/views.ts). Card 2.0 rejects unknown
// properties and has no `action` module: buttons sit directly in `body.elements` and carry
// `behaviors: [{ type: 'callback', value }]`; `config.update_multi` must be true so the card can be
// patched for everyone who sees it (REFERENCE §3). Values are already masked by the core; they are
// shown as plain_text (no markdown, so nothing in a value can format or link), and cards are kept well
// under Lark's 30 KB limit.
import type { View } from '../core/views.ts';
import { clipChars as clip } from '../core/clip.ts';

export const ACTION_SHARE = 'share';
export const ACTION_PICK = 'pick';
// The lookup card's request buttons (handled in approval-handlers.ts).
export const ACTION_REVEAL = 'reveal';
export const ACTION_ACCESS = 'access';

const MAX_ELEMENTS = 60;
const MAX_VALUE = 300;
const MAX_TEXT = 4000;
const MAX_TITLE = 100;

export type PlainText = { tag: 'plain_text'; content: string };
export type CardElement =
  | { tag: 'div'; text: PlainText }
  | { tag: 'markdown'; content: string }
  | { tag: 'hr' }
  | ButtonElement
  | { tag: 'form'; name: string; elements: FormField[] };

export type ButtonElement = {
  tag: 'button'; text: PlainText; type: 'primary' | 'default' | 'danger'; behaviors: { type: 'callback'; value: Record<string, string> }[];
  name?: string; form_action_type?: 'submit';
};

/** What a form container may hold (approval-cards.ts renders the request and deny forms). */
export type FormField =
  | { tag: 'div'; text: PlainText }
  | { tag: 'input'; name: string; required: boolean; label: PlainText; input_type?: 'multiline_text'; max_length?: number; default_value?: string }
  | { tag: 'multi_select_static'; name: string; required: boolean; placeholder: PlainText; options: { text: PlainText; value: string }[] }
  | ButtonElement;

export interface LarkCard {
  schema: '2.0';
  config: { update_multi: true; summary?: { content: string } };
  header?: { title: PlainText; template: 'blue' | 'green' | 'orange' | 'red' | 'grey' };
  body: { elements: CardElement[] };
}

/**
 * What a button sends back in `card.action.trigger` (`action.value`): the action, and customer id,
 * request id, group chat, an opaque core value, form metadata and a form nonce as each action needs.
 */
export interface CardActionValue { a: string; c?: string; r?: string; g?: string; v?: string; m?: string; n?: string }

export function plain(content: string, max = MAX_TEXT): PlainText {
  return { tag: 'plain_text', content: clip(content, max) };
}

export function text(content: string): CardElement & { tag: 'div' } {
  return { tag: 'div', text: plain(content) };
}

export function button(label: string, value: CardActionValue, type: 'primary' | 'default' | 'danger' = 'default'): ButtonElement {
  const v: Record<string, string> = {};
  for (const [k, x] of Object.entries(value)) if (typeof x === 'string') v[k] = x;
  return { tag: 'button', text: plain(label, 40), type, behaviors: [{ type: 'callback', value: v }] };
}

export function card(title: string | undefined, elements: CardElement[], template: 'blue' | 'green' | 'orange' | 'red' | 'grey' = 'blue'): LarkCard {
  return {
    schema: '2.0',
    config: { update_multi: true, summary: { content: clip(title ?? plainSummary(elements), 60) } },
    ...(title ? { header: { title: plain(title, MAX_TITLE), template } } : {}),
    body: { elements: elements.slice(0, MAX_ELEMENTS) },
  };
}

function plainSummary(elements: CardElement[]): string {
  const first = elements.find((e) => e.tag === 'div');
  return first && first.tag === 'div' ? first.text.content : 'custos';
}

/**
 * `groupChat`: the group a private copy belongs to (a lookup asked in a group is answered by DM); its
 * buttons carry the group's chat id so a click acts for that group.
 */
export function renderView(view: View, groupChat?: string): LarkCard {
  const g = groupChat ? { g: groupChat } : {};
  switch (view.kind) {
    case 'notice':
      return card(undefined, [text(view.text)], view.tone === 'info' ? 'blue' : 'orange');
    case 'help':
      return card(view.title, view.lines.map(text));
    case 'pick':
      return card(undefined, [
        text(view.intro),
        ...view.candidates.slice(0, (MAX_ELEMENTS - 1) / 2).flatMap((c) => [
          text(`${c.customerId}\n${c.summary}`),
          button(c.button.label, { a: ACTION_PICK, c: c.button.value, ...g }),
        ]),
      ]);
    case 'card': {
      const elements: CardElement[] = [];
      // One block per field group: the group's name, then one `label: value` line per field.
      for (const g of view.groups) {
        elements.push(text([`【${g.label}】`, ...g.fields.map((f) => `${f.label}: ${clip(f.value, MAX_VALUE)}`)].join('\n')));
      }
      const tail: CardElement[] = [{ tag: 'hr' }, text(view.footer)];
      if (view.share) tail.push(button(view.share.label, { a: ACTION_SHARE, c: view.share.value, ...g }, 'primary'));
      for (const r of view.requests ?? []) tail.push(button(r.label, { a: r.kind === 'reveal' ? ACTION_REVEAL : ACTION_ACCESS, v: r.value, ...g }));
      return card(view.title, [...elements.slice(0, MAX_ELEMENTS - tail.length), ...tail]);
    }
  }
}
