// Every neutral view renders into card JSON 2.0 that Lark accepts (checked by the fake's validator):
// no unknown fields, no `action` module, callback buttons, update_multi; long values are clipped and
// long pick lists bounded, so cards stay far below 30 KB.
import test from 'ava';
import fc from 'fast-check';
import '../bot/core/lookup-messages.ts';
import { helpView, noticeView, type View } from '../bot/core/views.ts';
import { renderView } from '../bot/lark/cards.ts';
import { cardButtons, cardProblem, cardText } from './fakes/lark-api.ts';

const accepted = (view: View, group?: string) => {
  const card = renderView(view, group);
  const json = JSON.stringify(card);
  return { card: JSON.parse(json) as Record<string, unknown>, problem: cardProblem(JSON.parse(json) as Record<string, unknown>, json.length), size: Buffer.byteLength(json) };
};

test('help and notices render as accepted 2.0 cards', (t) => {
  for (const view of [helpView('zh-CN', '#sec'), helpView('en', '#sec'), noticeView('好的'), noticeView('refused', 'refusal')]) {
    const r = accepted(view);
    t.is(r.problem, undefined);
  }
});

test('the fake refuses what Lark refuses: unknown fields, the action module, missing update_multi, 1.0 buttons', (t) => {
  const good = accepted(noticeView('x')).card;
  const clone = () => JSON.parse(JSON.stringify(good)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const unknown = clone(); unknown.elements = [];
  t.regex(cardProblem(unknown, 10)!, /unknown field "elements"/);
  const action = clone(); action.body.elements.push({ tag: 'action', actions: [] });
  t.regex(cardProblem(action, 10)!, /"action" module is not supported/);
  const noMulti = clone(); delete noMulti.config.update_multi;
  t.regex(cardProblem(noMulti, 10)!, /update_multi must be true/);
  const oldButton = clone(); oldButton.body.elements.push({ tag: 'button', text: { tag: 'plain_text', content: 'b' }, value: { a: 'x' } });
  t.regex(cardProblem(oldButton, 10)!, /unknown field "value"/);
});

test('any customer card and pick list renders as an accepted card under 30 KB; buttons carry the group', (t) => {
  const text = fc.string({ unit: 'grapheme', maxLength: 2000 });
  fc.assert(fc.property(
    fc.array(fc.record({ label: text, fields: fc.array(fc.record({ label: text, value: text }), { maxLength: 12 }) }), { maxLength: 8 }),
    fc.array(fc.record({ id: fc.stringMatching(/^C-\d{6}$/), summary: text }), { minLength: 1, maxLength: 10 }),
    text,
    (groups, candidates, title) => {
      const card: View = {
        kind: 'card', customerId: 'C-000001', title: title || 'C-000001', footer: 'footer',
        groups: groups.map((g, i) => ({ group: 'profile', label: g.label || `g${i}`, fields: g.fields.map((f) => ({ field: 'name', label: f.label, value: f.value, masked: false })) })),
        share: { label: 'Share', value: 'C-000001' },
      };
      const pick: View = { kind: 'pick', intro: 'pick', candidates: candidates.map((c) => ({ customerId: c.id, summary: c.summary, button: { label: 'Open', value: c.id } })) };
      for (const v of [card, pick]) {
        const r = accepted(v, 'oc_group');
        if (r.problem !== undefined) return false;
        if (r.size > 30 * 1024) return false;
        if (!cardButtons(r.card).every((b) => b.value.g === 'oc_group')) return false;
      }
      return true;
    },
  ), { numRuns: 150 });
  t.pass();
});

test('values are plain text: markdown in a value cannot format or link', (t) => {
  const view: View = { kind: 'card', customerId: 'C-000001', title: 'C-000001', footer: 'f', groups: [{ group: 'profile', label: 'P', fields: [{ field: 'name', label: 'Name', value: '[x](https://evil.example) **b**', masked: false }] }] };
  const r = accepted(view);
  t.is(r.problem, undefined);
  t.false(JSON.stringify(r.card).includes('"markdown"'));
  t.true(cardText(r.card).includes('Name: [x](https://evil.example) **b**'));
});
