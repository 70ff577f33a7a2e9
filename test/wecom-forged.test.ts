// Forged and replayed WeCom callbacks against the real bot. A battery of 1,200 requests — bad or
// wrong-token signatures, stale and future timestamps, altered ciphertext or query, payloads that are
// signed but undecryptable (wrong key, garbage, truncated), messages for another corp, broken envelopes —
// each answered 401 (400 for a body that is not WeCom's envelope) with no side effect: no handler
// call, no WeCom API call, no audit event. Then redelivery: the same event 4 times → one reply and one
// set of audit events.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { encrypt, getSignature } from '@wecom/crypto';
import { messageXml } from './fakes/wecom.ts';
import { WECOM_TOKEN, WeComHarness } from './helpers/wecom-bot.ts';

const h = new WeComHarness(import.meta.url, { customers: 40 });

test.before(async () => { await h.start(); });
test.after.always(async () => { await h.close(); });

const BATTERY = 1200;

/** Two Han characters of a company name that 2–6 customers share. */
async function sharedFragment(): Promise<string> {
  const all = [];
  for await (const c of h.customers.stream({})) all.push(c);
  for (const c of all) {
    const chars = Array.from(c.company ?? '');
    for (let i = 0; i + 1 < chars.length; i++) {
      const frag = chars[i]! + chars[i + 1]!;
      const n = all.filter((x) => x.name.includes(frag) || (x.company ?? '').includes(frag)).length;
      if (/^\p{Script=Han}{2}$/u.test(frag) && n >= 2 && n <= 6) return frag;
    }
  }
  throw new Error('no shared fragment in the seeded customers');
}
type Forged = { query: Record<string, string>; body: string; status: number; kind: string };

/** Flips one character of `s` at a position, to another character of the same alphabet. */
function flip(s: string, at: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const i = at % (s.replace(/=+$/, '').length);
  const c = s[i]!;
  const next = alphabet[(alphabet.indexOf(c) + 1 + (at % 60)) % alphabet.length]!;
  return s.slice(0, i) + (next === c ? (c === 'A' ? 'B' : 'A') : next) + s.slice(i + 1);
}

function envelope(ciphertext: string): string {
  return `<xml><ToUserName><![CDATA[${h.fake.corpId}]]></ToUserName><AgentID><![CDATA[${h.fake.agentId}]]></AgentID><Encrypt><![CDATA[${ciphertext}]]></Encrypt></xml>`;
}

/** A request signed with the right token over `ciphertext` (so only decryption can refuse it). */
function signedOver(ciphertext: string): { query: Record<string, string>; body: string } {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(1000 + Math.floor(Math.random() * 1e6));
  return { query: { msg_signature: getSignature(WECOM_TOKEN, timestamp, nonce, ciphertext), timestamp, nonce }, body: envelope(ciphertext) };
}

function forged(i: number): Forged {
  const plaintext = messageXml({ ToUserName: h.fake.corpId, FromUserName: h.userId('supportAgent'), CreateTime: String(Math.floor(Date.now() / 1000)), MsgType: 'text', Content: 'C-000001', MsgId: String(9_000_000 + i), AgentID: String(h.fake.agentId) });
  const now = Math.floor(Date.now() / 1000);
  switch (i % 12) {
    case 0: return { ...h.driver.sign(plaintext, { tamper: (r) => { r.query.msg_signature = randomBytes(20).toString('hex'); } }), status: 401, kind: 'bad signature' };
    case 1: return { ...h.driver.sign(plaintext, { token: `wrong${i}` }), status: 401, kind: 'wrong token' };
    case 2: return { ...h.driver.sign(plaintext, { timestampSeconds: now - 301 - (i * 97) % 100_000 }), status: 401, kind: 'stale timestamp' };
    case 3: return { ...h.driver.sign(plaintext, { timestampSeconds: now + 301 + (i * 89) % 100_000 }), status: 401, kind: 'future timestamp' };
    case 4: return { ...h.driver.sign(plaintext, { tamper: (r) => { const c = /CDATA\[([^\]]+)\]\]><\/Encrypt>/.exec(r.body)![1]!; r.body = envelope(flip(c, i)); } }), status: 401, kind: 'altered ciphertext' };
    case 5: return { ...h.driver.sign(plaintext, { tamper: (r) => { r.query.nonce = `${r.query.nonce}1`; } }), status: 401, kind: 'altered nonce' };
    case 6: return { ...h.driver.sign(plaintext, { tamper: (r) => { r.query.timestamp = String(Number(r.query.timestamp) - 1); } }), status: 401, kind: 'altered timestamp' };
    case 7: return { ...signedOver(encrypt(randomBytes(32).toString('base64').slice(0, 43), plaintext, h.fake.corpId)), status: 401, kind: 'undecryptable: another key' };
    case 8: return { ...signedOver(randomBytes(32 * (1 + (i % 5))).toString('base64')), status: 401, kind: 'undecryptable: garbage' };
    case 9: return { ...signedOver(randomBytes(17 + (i % 40)).toString('base64')), status: 401, kind: 'undecryptable: not whole blocks' };
    case 10: return { ...h.driver.sign(plaintext, { receiveId: `wwother${i}` }), status: 401, kind: 'wrong receiveid' };
    default: return { ...h.driver.sign(plaintext, { tamper: (r) => { r.body = i % 2 ? r.body.replace('<Encrypt>', '<Encrypted>') : `${r.body}<Encrypt><![CDATA[x]]></Encrypt>`; } }), status: 400, kind: 'broken envelope' };
  }
}

test.serial(`${BATTERY} forged callbacks: each refused with the right status, nothing handled, called or audited`, async (t) => {
  const calls = h.fake.calls.length;
  const handled = h.handlerCalls.length;
  const events = { action: { $ne: 'policy.load' } }; // each process records its policy at start, when it gets to it
  const audited = await h.conn.collection('audit_events').countDocuments(events);
  const wrong: string[] = [];
  for (let start = 0; start < BATTERY; start += 24) {
    await Promise.all(Array.from({ length: Math.min(24, BATTERY - start) }, async (_, k) => {
      const f = forged(start + k);
      const res = await h.driver.post(f);
      if (res.status !== f.status) wrong.push(`${f.kind}: ${res.status}`);
    }));
  }
  t.deepEqual(wrong, []);
  t.is(h.handlerCalls.length, handled, 'no forged callback reached a handler');
  t.is(h.fake.calls.length, calls, 'no WeCom API call');
  // A genuine lookup after the battery: once its audit event is stored, any event a forged request had
  // caused would have been stored too.
  const reply = await h.ask(h.userId('supportAgent'), 'C-000002');
  t.truthy(reply.text);
  const [sentinelEvent] = await h.auditRecords({ action: 'lookup', 'actor.platform': 'wecom', customerIds: 'C-000002' });
  const after = await h.conn.collection('audit_events').find(events).toArray();
  const sentinelSet = after.filter((e) => e.correlationId === sentinelEvent!.correlationId);
  t.is(after.length, audited + sentinelSet.length, 'every event since the battery is the genuine lookup\'s');
});

test.serial('the same message delivered 4 times (WeCom retries, a replay) → one reply, one audit event', async (t) => {
  const who = h.userId('salesLeadEast');
  const fields = h.textFields(who, 'C-000003');
  const signed = h.driver.sign(messageXml({ ToUserName: h.fake.corpId, ...fields, AgentID: String(h.fake.agentId) }));
  const statuses = [];
  // Twice the same bytes, twice re-signed with a new nonce (WeCom's retries are signed anew).
  statuses.push((await h.driver.post(signed)).status, (await h.driver.post(signed)).status);
  statuses.push((await h.driver.send(fields)).status, (await h.driver.send(fields)).status);
  t.deepEqual(statuses, [200, 200, 200, 200]);
  await h.fake.waitFor((m) => m.touser === who);
  const n = h.fake.messages.length;
  await h.driver.send(h.textFields(who, 'help'));
  // The lookup's card may still be on its way; the help is the text that follows.
  const sentinel = await h.fake.waitFor((m) => h.fake.messages.indexOf(m) >= n && m.touser === who && m.msgtype === 'text');
  t.truthy(sentinel.text);
  // A reply is a text and, when the card has request buttons, a template card after it.
  t.is(h.fake.sentTo(who).filter((m) => m.msgtype === 'text').length, 2, 'one reply to the four deliveries, then the help');
  t.true(h.fake.sentTo(who).filter((m) => m.msgtype === 'template_card').length <= 1);
  const records = await h.auditRecords({ 'actor.platformUserId': who, customerIds: 'C-000003' });
  t.is(records.length, 1);
  // The whole set (the lookup's events before and after the read) belongs to that one delivery.
  const all = await h.conn.collection('audit_events').find({ 'actor.platformUserId': who, action: 'lookup' }).toArray();
  t.deepEqual([...new Set(all.map((e) => e.correlationId))], [records[0]!.correlationId]);
});

test.serial('the same card click delivered 4 times → one answer, one audit event', async (t) => {
  const who = h.userId('supportAgent');
  const { card } = await h.askForCard(who, await sharedFragment()); // several matches: a button card
  const key = card.card!.button_list[0]!.key;
  const customerId = key.slice('pick|'.length);
  // Lookups that showed this customer alone: the list's own event names several and may be stored after
  // its card arrives (a card waits for Redis to accept its events, not for the database to store them).
  const lookups = { 'actor.platformUserId': who, action: 'lookup', customerIds: [customerId] };
  const audited = (await h.auditRecords(lookups, 0)).length;
  const click = h.fake.click(card, key);
  const clicked = h.fake.messages.length;
  const statuses = await Promise.all([1, 2, 3, 4].map(() => h.driver.send(click).then((r) => r.status)));
  t.deepEqual(statuses, [200, 200, 200, 200]);
  await h.fake.waitFor((m) => m.touser === who && h.fake.messages.indexOf(m) >= clicked);
  await h.ask(who, 'help');
  // A reply is a text (and, with buttons, a card after it): one answer's text, then the help's.
  const texts = h.fake.messages.slice(clicked).filter((m) => m.touser === who && m.msgtype === 'text');
  if (texts.length !== 2) {
    // What was sent, and the bot's warnings (a once-store that did not answer, a failed command): what tells the causes apart.
    t.log(JSON.stringify(h.fake.messages.slice(clicked).filter((m) => m.touser === who)));
    t.log(h.logLines.filter((l) => /"level":(4|5)\d/.test(l)).slice(-20).join(''));
  }
  t.is(texts.length, 2, 'one answer to the click, then the help');
  t.is((await h.auditRecords(lookups, audited + 1)).length, audited + 1);
});
