// sync.run events carry the cursors a connector made: any cursor, whatever it holds (epoch
// milliseconds, record ids with long digit runs, e-mail-shaped page tokens, very long tokens), gives an
// event the audit schema accepts — so a successful run can never fail at its own audit — and cursors
// that pass the PII guard are recorded as they are.
import test from 'ava';
import fc from 'fast-check';
import { looksLikePii, parseAuditEvent } from '../bot/core/audit-event.ts';
import { auditableCursor, fingerprintCursor } from '../bot/sync/audit-cursor.ts';

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
