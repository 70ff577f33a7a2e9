// A finishing replica records nothing twice (bot/runtime/answer-scope.ts): inside a pending answer's
// scope, the n-th event of an action gets the same id in every run of the request, so the events a
// dead bot recorded and the ones its finisher records again are one record each in the audit log.
import test from 'ava';
import type { AuditEventInput, AuditRecorder } from '../bot/core/audit.ts';
import { newEventId, stepEventId } from '../bot/core/audit-event.ts';
import { answerScopedRecorder, inAnswerScope } from '../bot/runtime/answer-scope.ts';

function event(action: AuditEventInput['action'], eventId = newEventId(new Date())): AuditEventInput {
  return { v: 1, eventId, occurredAt: new Date().toISOString(), actor: { employeeId: 'E-1', platform: 'slack' }, channelKind: 'dm', action, customerIds: [], fields: [], decision: 'allowed', ruleIds: [] };
}

function capture(): { recorder: AuditRecorder; ids: string[] } {
  const ids: string[] = [];
  return { ids, recorder: answerScopedRecorder({ record: async (e) => { ids.push(e.eventId); } }) };
}

/** One run of a request's turn: an attempt and a shown lookup, and a refusal. */
async function turn(r: AuditRecorder): Promise<void> {
  await r.record(event('lookup'));
  await r.record(event('lookup'));
  await r.record(event('interaction.refused'));
}

test('the same request run twice records the same event ids; another request other ids', async (t) => {
  const first = capture();
  const second = capture();
  const other = capture();
  await inAnswerScope('sl-abc', () => turn(first.recorder));
  await inAnswerScope('sl-abc', () => turn(second.recorder));
  await inAnswerScope('sl-xyz', () => turn(other.recorder));
  t.deepEqual(second.ids, first.ids);
  t.is(new Set(first.ids).size, 3, 'each event of one run has its own id');
  t.false(other.ids.some((id) => first.ids.includes(id)));
});

test('outside a scope ids stay random; a step id (already the same everywhere) is kept inside one', async (t) => {
  const c = capture();
  const random = event('lookup');
  await c.recorder.record(random);
  const step = stepEventId('request:R-1:approve');
  await inAnswerScope('sl-abc', () => c.recorder.record(event('request.approve', step)));
  t.deepEqual(c.ids, [random.eventId, step]);
});

test('concurrent scopes do not share counters', async (t) => {
  const a = capture();
  const b = capture();
  await Promise.all([inAnswerScope('sl-a', () => turn(a.recorder)), inAnswerScope('sl-b', () => turn(b.recorder))]);
  const again = capture();
  await inAnswerScope('sl-a', () => turn(again.recorder));
  t.deepEqual(again.ids, a.ids);
});
