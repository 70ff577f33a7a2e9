// The neutral views (bot/core/views.ts) as the variables of custos's DingTalk card template. DingTalk
// cards are built once in the card builder and filled per message through `cardParamMap`, whose values
// must be strings; lists travel as JSON strings that the template loops over (README: DingTalk shows
// the template's variables). Values are already masked by the core and are shown as plain text.
//  title   the card's title ('' for none)         tone     info | refusal | error | card
//  lines   JSON ["…"]: paragraphs                 fields   JSON [{group, label, value}]
//  footer  the audit reference line                buttons  JSON [{id, text, value}]
// A button's `id` is the codec's action name and `value` its encoded value (bot/conversation/codec.ts);
// the template's "send card request" event returns both, so a click is decoded like on every platform.
import { encodeAction } from '../conversation/codec.ts';
import type { View } from '../core/views.ts';
import type { CardParams } from './api.ts';

const MAX_FIELDS = 60;
const MAX_BUTTONS = 12;
const MAX_VALUE = 300;
const MAX_TEXT = 4000;

export interface CardButton { id: string; text: string; value: string }

function clip(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

function params(p: { title?: string; tone: string; lines?: string[]; fields?: { group: string; label: string; value: string }[]; footer?: string; buttons?: CardButton[] }): CardParams {
  return {
    title: clip(p.title ?? '', 100),
    tone: p.tone,
    lines: JSON.stringify((p.lines ?? []).map((l) => clip(l, MAX_TEXT))),
    fields: JSON.stringify((p.fields ?? []).slice(0, MAX_FIELDS)),
    footer: clip(p.footer ?? '', 500),
    buttons: JSON.stringify((p.buttons ?? []).slice(0, MAX_BUTTONS).map((b) => ({ ...b, text: clip(b.text, 40) }))),
  };
}

export function renderView(view: View): CardParams {
  switch (view.kind) {
    case 'notice':
      return params({ tone: view.tone, lines: [view.text] });
    case 'help':
      return params({ title: view.title, tone: 'info', lines: view.lines });
    case 'pick':
      return params({
        tone: 'info',
        lines: [view.intro, ...view.candidates.map((c) => `${c.customerId}\n${c.summary}`)],
        buttons: view.candidates.map((c) => ({ id: 'pick', text: c.button.label, value: c.button.value })),
      });
    case 'card': {
      const fields = view.groups.flatMap((g) => g.fields.map((f) => ({ group: g.label, label: f.label, value: clip(f.value, MAX_VALUE) })));
      const buttons: CardButton[] = [];
      if (view.share) buttons.push({ id: 'share', text: view.share.label, value: encodeAction({ name: 'share', customerId: view.share.value }) });
      for (const r of view.requests ?? []) buttons.push({ id: r.kind, text: r.label, value: r.value });
      return params({ title: view.title, tone: 'card', fields, footer: view.footer, buttons });
    }
  }
}
