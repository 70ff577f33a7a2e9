// Lark card JSON 2.0 rendering of the neutral views (bot/core/views.ts). Card 2.0 rejects unknown
// properties and has no `action` module: buttons sit directly in `body.elements` and carry
// `behaviors: [{ type: 'callback', value }]`; `config.update_multi` must be true so the card can be
// patched for everyone who sees it (REFERENCE §3). Values are already masked by the core; they are
// shown as plain_text (no markdown, so nothing in a value can format or link), and cards are kept well
// under Lark's 30 KB limit.
import type { View } from '../core/views.ts';

export const ACTION_SHARE = 'share';
export const ACTION_PICK = 'pick';

const MAX_ELEMENTS = 60;
const MAX_VALUE = 300;
const MAX_TEXT = 4000;
const MAX_TITLE = 100;

export type PlainText = { tag: 'plain_text'; content: string };
export type CardElement =
  | { tag: 'div'; text: PlainText }
  | { tag: 'markdown'; content: string }
  | { tag: 'hr' }
  | { tag: 'button'; text: PlainText; type: 'primary' | 'default' | 'danger'; behaviors: { type: 'callback'; value: Record<string, string> }[] };

export interface LarkCard {
  schema: '2.0';
  config: { update_multi: true; summary?: { content: string } };
  header?: { title: PlainText; template: 'blue' | 'green' | 'orange' | 'red' | 'grey' };
  body: { elements: CardElement[] };
}

/** What a button sends back in `card.action.trigger` (`action.value`). */
export interface CardActionValue { a: string; c?: string; r?: string; g?: string }

function clip(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

function plain(content: string, max = MAX_TEXT): PlainText {
  return { tag: 'plain_text', content: clip(content, max) };
}

export function text(content: string): CardElement {
  return { tag: 'div', text: plain(content) };
}

export function button(label: string, value: CardActionValue, type: 'primary' | 'default' | 'danger' = 'default'): CardElement {
  const v: Record<string, string> = { a: value.a };
  if (value.c !== undefined) v.c = value.c;
  if (value.r !== undefined) v.r = value.r;
  if (value.g !== undefined) v.g = value.g;
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
      return card(view.title, [...elements.slice(0, MAX_ELEMENTS - tail.length), ...tail]);
    }
  }
}
