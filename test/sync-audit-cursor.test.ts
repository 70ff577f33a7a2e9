// sync.run events carry the cursors a connector made: any cursor, whatever it holds (epoch
// milliseconds, record ids with long digit runs, e-mail-shaped page tokens, very long tokens), gives an
// event the audit schema accepts — so a successful run can never fail at its own audit — and cursors
// that pass the PII guard are recorded as they are.
import test from 'ava';
import fc from 'fast-check';
import { looksLikePii, parseAuditEvent } from '../bot/core/audit-event.ts';
import { auditableCursor, fingerprintCursor } from '../bot/sync/audit-cursor.ts';
import { decodeJdyCursor, encodeJdyCursor } from '../bot/sync/jiandaoyun/cursor.ts';
import { decodeCursor, encodeCursor } from '../bot/sync/salesforce/soql.ts';

const syncRun = (cursorBefore: string, cursorAfter: string) => ({
  v: 1, eventId: '01890a5d-ac96-7000-8000-000000000000', occurredAt: '2026-12-03T08:00:00.000Z',
  actor: { employeeId: null, platform: 'system' }, channelKind: 'none', action: 'sync.run', customerIds: [], fields: [],
  decision: 'allowed', ruleIds: [], meta: { source: 'crm', cursorBefore, cursorAfter },
});

const cursors = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.bigInt({ min: 0n, max: 10n ** 15n }).map(String),
  fc.tuple(fc.date({ noInvalidDate: true }), fc.stringMatching(/^[0-9A-Za-z]{15,18}$/)).map(([d, id]) => `${d.toISOString()}|${id}`),
  fc.emailAddress(),
);

test('any cursor gives a sync.run event the audit schema accepts', (t) => {
  fc.assert(fc.property(cursors, cursors, (a, b) => {
    parseAuditEvent(syncRun(auditableCursor(a), auditableCursor(b)));
  }), { numRuns: 500 });
  t.pass();
});

test('a cursor that passes the guard is recorded as it is; one that does not, by its fingerprint', (t) => {
  t.is(auditableCursor(null), '');
  t.is(auditableCursor('2026-12-03T08:00:00.000Z|MDAxNWcwMDAwMDFBQkM'), '2026-12-03T08:00:00.000Z|MDAxNWcwMDAwMDFBQkM');
  const millis = '1733212800000';
  t.truthy(looksLikePii(millis));
  t.is(auditableCursor(millis), fingerprintCursor(millis));
  t.regex(auditableCursor(millis), /^fp:[a-p]{24}$/);
  t.not(fingerprintCursor('1733212800000'), fingerprintCursor('1733212800001'), 'two cursors stay apart');
  t.regex(auditableCursor('x'.repeat(201)), /^fp:/);
});

test('connector cursors hold record ids as the source spells them, and cursors stored in the older encodings are still read', (t) => {
  const sf = { modstamp: '2026-06-01T02:00:00Z', id: '001FK0000000451AAA', deletionsUntil: '2026-06-01T02:05:00Z' };
  t.is(encodeCursor(sf), '2026-06-01T02:00:00Z|001FK0000000451AAA|2026-06-01T02:05:00Z');
  t.deepEqual(decodeCursor(encodeCursor(sf)), sf);
  t.deepEqual(decodeCursor(`2026-06-01T02:00:00Z|${Buffer.from(sf.id).toString('base64url')}|2026-06-01T02:05:00Z`), sf, 'base64url id of the older form');
  t.deepEqual(decodeCursor('2026-06-01T02:00:00Z|001FK0000000451|2026-06-01T02:05:00Z')?.id, '001FK0000000451', '15-character id');
  t.is(decodeCursor("2026-06-01T02:00:00Z|001FK0000000451AA'|2026-06-01T02:05:00Z"), null, 'nothing but an id reaches SOQL');
  t.true(looksLikePii(encodeCursor(sf)) !== null, 'the id\'s digit run is why the audit fingerprints it');

  const jdy = { from: '2026-06-01T08:00:00.000Z', to: '2026-06-01T08:01:00.000Z', lastId: '64f0a1b2c3d4e5f600000123' };
  t.is(encodeJdyCursor(jdy), 'v1|2026-06-01T08:00:00.000Z|2026-06-01T08:01:00.000Z|64f0a1b2c3d4e5f600000123');
  t.deepEqual(decodeJdyCursor(encodeJdyCursor(jdy)), jdy);
  t.deepEqual(decodeJdyCursor('v1|2026-06-01T08:00:00.000Z|2026-06-01T08:01:00.000Z|mkfgahbicjdkelfmggggghij'), jdy, 'digits as letters, the older form');
  t.is(decodeJdyCursor('v1|2026-06-01T08:00:00.000Z|2026-06-01T08:01:00.000Z|64f0a1b2c3d4e5f60000012z'), 'invalid');
  t.is(decodeJdyCursor('v1|2026-06-01T08:00:00.000Z'), 'invalid');
});
