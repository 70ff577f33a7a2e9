// Times on cards are on the reader's clock with the zone named (bot/core/local-time.ts): for any instant
// and any zone, the approval card, the "already decided" refusal and the lookup card's grant line show
// the reader's local wall-clock time and the zone's name — never UTC unless the reader lives in UTC. Then,
// through the real playground: a request's requester and its approver in different zones each read their
// own zone on their copy of the same card.
//
// The oracle is independent of the formatter under test: the zone's UTC offset at that instant (Intl's
// `longOffset`), added to the instant, printed by toISOString.
import test from 'ava';
import fc from 'fast-check';
import '../bot/core/lookup-messages.ts';
import { AlreadyDecided } from '../bot/core/approvals/errors.ts';
import type { AccessRequest } from '../bot/core/approvals/types.ts';
import type { LookupResult } from '../bot/core/lookup.ts';
import { lookupResultView } from '../bot/core/views.ts';
import { approvalCardView, approvalErrorText, type CardContext } from '../bot/core/views-approval.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { PlaygroundHarness, textOf } from './helpers/playground.ts';

const RUNS = Number(process.env.VIEWER_TIME_RUNS ?? 200);
const ZONES = Intl.supportedValuesOf('timeZone');

/** "2026-12-03 09:30 (Asia/Shanghai)", computed from the zone's offset rather than its formatter. */
function expected(at: Date, zone: string): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')!.value;
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!m) throw new Error(`unexpected offset ${name} for ${zone}`);
  const minutes = m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  // Minute precision: the seconds of the instant are dropped, not rounded.
  const local = new Date(Math.floor(at.getTime() / 60_000) * 60_000 + minutes * 60_000);
  return `${local.toISOString().slice(0, 16).replace('T', ' ')} (${zone})`;
}

const instant = fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });
const zone = fc.constantFrom(...ZONES);
const locale = fc.constantFrom('zh-CN' as const, 'en' as const);

function requestAt(at: Date, status: AccessRequest['status']): AccessRequest {
  return {
    requestId: 'R-ABCDEFGHIJ', kind: 'reveal', requesterId: 'E-0012', customerIds: ['C-000001'], field: 'phone', groups: ['contact'], fields: ['phone'],
    purpose: '续约跟进', durationMinutes: 15, ruleIds: [], status,
    parts: [{ name: 'contact', approverTiers: [['E-0011']], tiersAsked: 1, quorum: 1, maxDurationMinutes: 240, ruleId: 'approval.contact' }],
    createdAt: at, remindAt: at, escalateAt: at, expiresAt: at, cards: [],
    ...(status === 'pending' ? {} : { decidedBy: ['E-0011'], decidedAt: at }),
    ...(status === 'approved' ? { grantId: 'G-1', grantExpiresAt: at } : {}),
  };
}

const names = new Map([['E-0012', '张伟'], ['E-0011', '李娜']]);
const cardText = (v: ReturnType<typeof approvalCardView>) => [v.title, ...v.lines.map((l) => `${l.label}: ${l.value}`), v.status.text].join('\n');

test('any instant, any zone: the approval card shows the reader\'s local time and names the zone', (t) => {
  fc.assert(fc.property(instant, zone, locale, fc.constantFrom('pending' as const, 'approved' as const, 'denied' as const, 'expired' as const, 'cancelled' as const), (at, tz, l, status) => {
    const ctx: CardContext = { names, voters: [], audience: 'approver', locale: l, timezone: tz, readerId: 'E-0011' };
    const text = cardText(approvalCardView(requestAt(at, status), ctx));
    if (!text.includes(expected(at, tz))) throw new Error(`${tz}: expected ${expected(at, tz)} in\n${text}`);
    if (tz !== 'UTC' && tz !== 'Etc/UTC' && /\bUTC\b/.test(text)) throw new Error(`${tz}: the card still says UTC\n${text}`);
  }), { numRuns: RUNS });
  t.pass();
});

test('any instant, any zone: "already decided" and the lookup card\'s grant line are on the reader\'s clock', (t) => {
  fc.assert(fc.property(instant, zone, locale, (at, tz, l) => {
    const refusal = approvalErrorText(new AlreadyDecided('approved', ['E-0011'], at), l, names, '#security', tz) ?? '';
    if (!refusal.includes(expected(at, tz))) throw new Error(`${tz}: expected ${expected(at, tz)} in ${refusal}`);
    const result = {
      kind: 'card', eventId: 'ev-1', shareable: false,
      customer: { customerId: 'C-000001', fields: [{ field: 'phone', value: '13812345678', outcome: 'show' }], grants: [{ grantId: 'G-1', expiresAt: at }] },
    } as unknown as LookupResult;
    const view = lookupResultView(result, l, tz);
    const footer = view.kind === 'card' ? view.footer : '';
    if (!footer.includes(expected(at, tz))) throw new Error(`${tz}: expected ${expected(at, tz)} in ${footer}`);
  }), { numRuns: RUNS });
  t.pass();
});

test('two readers of one request in different zones each read their own zone, never the other\'s', (t) => {
  const pairs = fc.tuple(zone, zone).filter(([a, b]) => a !== b);
  fc.assert(fc.property(instant, pairs, (at, [mine, theirs]) => {
    const request = requestAt(at, 'pending');
    const requester = cardText(approvalCardView(request, { names, voters: [], audience: 'requester', locale: 'en', timezone: mine }));
    const approver = cardText(approvalCardView(request, { names, voters: [], audience: 'approver', locale: 'en', timezone: theirs, readerId: 'E-0011' }));
    if (!requester.includes(`(${mine})`) || requester.includes(`(${theirs})`)) throw new Error(`requester in ${mine}:\n${requester}`);
    if (!approver.includes(`(${theirs})`) || approver.includes(`(${mine})`)) throw new Error(`approver in ${theirs}:\n${approver}`);
  }), { numRuns: RUNS });
  t.pass();
});

// ---- through the playground: each inbox copy of the same request on its reader's clock -------------

const h = new PlaygroundHarness(import.meta.url, { customers: 60 });
const rep = demoEmployee('salesRep'); // 张伟, Asia/Shanghai
const lead = demoEmployee('salesLeadEast'); // 李娜, his manager and approver

test.before(async () => {
  await h.start();
  // The approver works from London this week: the directory says so, and her copy of the card follows.
  await h.conn.collection('employees').updateOne({ employeeId: lead.employeeId }, { $set: { timezone: 'Europe/London' } });
});
test.after.always(() => h.close());

async function inboxOf(employeeId: string): Promise<{ kind: string; html: string }[]> {
  const res = await fetch(h.url('/playground/api/inbox'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId, after: 0 }) });
  return ((await res.json()) as { inbox: { kind: string; html: string }[] }).inbox;
}

test('the requester in Shanghai and the approver in London read the same request each on their own clock', async (t) => {
  let customerId = '';
  for await (const c of h.customers.stream({})) {
    if (!customerId && c.ownerId !== rep.employeeId && c.region === 'east' && c.phone) customerId = c.customerId;
  }
  const metadata = JSON.stringify({ target: { kind: 'reveal', customerId, field: 'phone' }, channelKind: 'dm' });
  const sent = await h.click(rep.employeeId, 'approval_submit', metadata, { form: { purpose: '续约跟进', duration: '15' } });
  const requestId = /(R-[A-P]{10})/.exec(textOf(sent.replies[0]!.html))?.[1];
  if (!requestId) return t.fail(textOf(sent.replies[0]!.html));
  const copyOf = async (employeeId: string) => (await inboxOf(employeeId)).map((i) => textOf(i.html)).find((x) => x.includes(requestId)) ?? '';
  const approverCopy = await copyOf(lead.employeeId);
  const requesterCopy = await copyOf(rep.employeeId);
  t.regex(approverCopy, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Europe\/London\)/, approverCopy);
  t.false(approverCopy.includes('Asia/Shanghai'), approverCopy);
  t.false(/\bUTC\b/.test(approverCopy), approverCopy);
  t.regex(requesterCopy, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Asia\/Shanghai\)/, requesterCopy);
  t.false(requesterCopy.includes('Europe/London'), requesterCopy);
  // The two copies name one moment: London is 7 hours behind Shanghai in summer (the harness's clock is June).
  const clock = (s: string, tz: string) => new RegExp(`(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}) \\(${tz.replace('/', '\\/')}\\)`).exec(s)![1]!;
  const shanghai = Date.parse(`${clock(requesterCopy, 'Asia/Shanghai').replace(' ', 'T')}:00+08:00`);
  const london = Date.parse(`${clock(approverCopy, 'Europe/London').replace(' ', 'T')}:00+01:00`);
  t.is(shanghai, london);
});
