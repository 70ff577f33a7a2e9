// The audit event contract, pure: what the schema lets through, what it refuses as personal data (and
// that its refusal never repeats the value), ids, query HMACs and the canonical encoding under the hashes.
import test from 'ava';
import fc from 'fast-check';
import type { AuditEventInput } from '../bot/core/audit.ts';
import {
  EVENT_ID_RE, PII_SHAPES, canonicalJSON, chainHash, hmacQuery, identifierLooksLikePii, looksLikePii, newEventId, parseAuditEvent, stepEventId,
} from '../bot/core/audit-event.ts';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';

const base = (): AuditEventInput => ({
  v: 1, eventId: newEventId(new Date('2026-03-01T08:00:00Z')), occurredAt: '2026-03-01T08:00:00.000Z',
  actor: { employeeId: 'E-0042', platform: 'lark', platformUserId: 'ou_7d8a6e' }, channelKind: 'private',
  action: 'reveal', customerIds: ['C-000123'], fields: [{ name: 'idNumber', outcome: 'mask:id_strict' }],
  decision: 'allowed', ruleIds: ['legal-identity', 'grant:G-17'], grantId: 'G-17', purpose: '合同核对 contract check Q3',
  query: { kind: 'id', hmac: hmacQuery(Buffer.alloc(32, 1), 'C-000123') }, correlationId: 'req-1', meta: { candidates: 1, cached: false, stage: 'card' },
});

function refusal(event: unknown): string {
  try {
    parseAuditEvent(event);
  } catch (err) {
    if (isCustosError(err, ErrorCode.AuditEventInvalid)) return err.message;
    throw err;
  }
  return '';
}

test('a well-formed event passes unchanged', (t) => {
  const e = base();
  t.deepEqual(parseAuditEvent(e), e);
});

const RAW_PII: [string, string][] = [
  ['mobile', '13812345678'], ['mobile with +86 and spaces', '+86 138 1234 5678'], ['landline', '010-62345678'],
  ['e-mail', 'zhang.wei@example.com'], ['ID number', '11010119900307451X'], ['bank card', '6222 0212 3456 7890'],
  ['bank card (19)', '6217002710000123456'], ['address', '北京市海淀区中关村大街27号'], ['address (en)', '221 Baker Street'],
];

for (const [kind, value] of RAW_PII) {
  test(`a raw ${kind} in the purpose is refused, and the refusal does not repeat it`, (t) => {
    const msg = refusal({ ...base(), purpose: `follow up ${value} today` });
    t.regex(msg, /purpose: looks like a raw/);
    t.false(msg.includes(value));
  });
}

test('personal data is refused in every free-text slot, not only the purpose', (t) => {
  t.regex(refusal({ ...base(), meta: { note: 'call 13812345678' } }), /meta\.note: looks like a raw mobile/);
  t.regex(refusal({ ...base(), reasonCode: 'x@y.com' }), /reasonCode/);
  t.regex(refusal({ ...base(), actor: { employeeId: '13812345678', platform: 'slack' } }), /actor\.employeeId: looks like a raw mobile/);
  t.regex(refusal({ ...base(), customerIds: ['张伟'] }), /customerIds\.0: must be a customer id/);
  t.regex(refusal({ ...base(), query: { kind: 'phone', hmac: '13812345678' } }), /query\.hmac: must be hmacQuery/);
  t.regex(refusal({ ...base(), customerName: '张伟' }), /Unrecognized key/); // no slot for names at all
});

test('random platform and correlation ids pass, however many digits they happen to hold', (t) => {
  // A Lark open_id is "ou_" + 32 hex digits; about one in eight holds a run of nine digits by chance.
  const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
  fc.assert(fc.property(hex(32), fc.uuid(), (openIdHex, uuid) => {
    const e = { ...base(), actor: { employeeId: 'E-0042', platform: 'lark' as const, platformUserId: `ou_${openIdHex}` }, correlationId: openIdHex, requestId: `req-${uuid}` };
    parseAuditEvent(e);
  }), { numRuns: 2000 });
  // The cases that once failed: all-digit UUID groups and an open_id with a long digit run.
  t.is(identifierLooksLikePii('req-12345678-1234-4234-8234-123456789012'), null);
  t.is(identifierLooksLikePii('ou_ab123456789012cd'), null);
  t.is(identifierLooksLikePii('U123456789'), null);
  // A bare number in an id is still refused.
  t.is(identifierLooksLikePii('13812345678'), 'mobile number');
  t.is(identifierLooksLikePii('note-13812345678'), 'mobile number');
  t.is(identifierLooksLikePii('11010119900307451X'), 'ID number');
});

test('ordinary purposes, dates and counts are not mistaken for personal data', (t) => {
  for (const ok of ['回访 2026-03-01 订单', 'ticket T-20260301 escalation', 'Q3 review of 12 accounts', '核对合同金额 50万']) {
    t.is(looksLikePii(ok), null, ok);
  }
});

test('the PII guard\'s shortcut (no "@" and no digit: nothing to find) answers as every shape tried in turn', (t) => {
  // Text built from what the shapes look for (digits, separators, "@", "+86", address words, an ID's X)
  // and what identifiers hold, so the shapes match often and the shortcut is tried on both sides.
  const unit = fc.constantFrom(...'0123456789 -+@.Xxab_路号室 street'.split(''), 'street', '86', 'example.cn');
  const everyShape = (text: string) => PII_SHAPES.find(({ re }) => re.test(text))?.kind ?? null;
  let found = 0;
  fc.assert(fc.property(fc.string({ unit, maxLength: 40 }), (text) => {
    const kind = looksLikePii(text);
    if (kind) found++;
    return kind === everyShape(text);
  }), { numRuns: 3000 });
  t.true(found > 300, `only ${found} of 3,000 texts looked like personal data: the test would not see a wrong shortcut`);
});

test('event ids are UUIDv7: time-ordered, no ":" (valid BullMQ job ids)', (t) => {
  const a = newEventId(new Date('2026-01-01T00:00:00Z'));
  const b = newEventId(new Date('2026-01-01T00:00:01Z'));
  t.regex(a, EVENT_ID_RE);
  t.is(a[14], '7');
  t.false(a.includes(':'));
  t.true(a < b);
});

test('event ids carry their millisecond in the first 48 bits, the RFC 9562 variant, and 74 random bits', (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => {
    const id = newEventId(new Date(ms));
    t.regex(id, EVENT_ID_RE);
    t.is(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16), ms);
    t.is(id[14], '7');
    t.true('89ab'.includes(id[19]!), `variant 10xx: ${id}`);
  }));
  const at = new Date('2026-01-01T00:00:00Z');
  const ids = new Set(Array.from({ length: 10_000 }, () => newEventId(at)));
  t.is(ids.size, 10_000, 'ids minted in one millisecond differ');
});

test('step event ids: the same step always gets the same valid id, other steps other ids', (t) => {
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => {
    const id = stepEventId(a);
    t.regex(id, EVENT_ID_RE);
    t.is(id[14], '8', 'UUID version 8: derived, not random');
    t.false(id.includes(':'));
    t.is(stepEventId(a), id);
    if (a !== b) t.not(stepEventId(b), id);
  }));
  t.is(parseAuditEvent({ ...base(), eventId: stepEventId('review:close:RV-20260630') }).eventId, stepEventId('review:close:RV-20260630'));
});

test('query HMACs: same text (after trim / NFKC) → same HMAC; different key or text → different; never the text', (t) => {
  const k1 = Buffer.alloc(32, 1);
  const k2 = Buffer.alloc(32, 2);
  t.is(hmacQuery(k1, ' 13812345678 '), hmacQuery(k1, '１３８１２３４５６７８')); // full-width digits
  t.not(hmacQuery(k1, '13812345678'), hmacQuery(k2, '13812345678'));
  t.not(hmacQuery(k1, '13812345678'), hmacQuery(k1, '13812345679'));
  t.regex(hmacQuery(k1, '张伟'), /^[0-9a-f]{64}$/);
});

test('canonical JSON does not depend on key order, drops undefined, encodes Dates as ISO', (t) => {
  t.is(canonicalJSON({ b: 1, a: [true, null, 'x'], c: undefined, d: new Date('2026-01-01T00:00:00Z') }),
    '{"a":[true,null,"x"],"b":1,"d":"2026-01-01T00:00:00.000Z"}');
  fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
    const reversed = Object.fromEntries(Object.entries(obj).reverse());
    const c = canonicalJSON(obj);
    // Order-independent, valid JSON, and a fixed point: decoding and re-encoding gives the same text.
    return c === canonicalJSON(reversed) && canonicalJSON(JSON.parse(c)) === c;
  }));
});

test('the chain hash covers every member but hash / mac / _id, and the previous hash', (t) => {
  const rec = { seq: 1, prevHash: '0'.repeat(64), action: 'lookup', occurredAt: new Date(0) };
  const h = chainHash(rec);
  t.is(chainHash({ ...rec, hash: 'x', mac: 'y', _id: 'z' }), h);
  t.not(chainHash({ ...rec, action: 'reveal' }), h);
  t.not(chainHash({ ...rec, prevHash: '1'.repeat(64) }), h);
  t.not(chainHash({ ...rec, seq: 2 }), h);
});
