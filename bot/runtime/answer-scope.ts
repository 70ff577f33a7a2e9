// The audit events of one pending answer (bot/runtime/pending-answers.ts) get ids derived from the
// request and the event's place in it, not random ones: when a replica finishes a request whose bot
// died mid-way, the events the dead bot already recorded are recorded again under the same ids, and
// the audit log keeps one record per event id (the worker skips a stored id). So the finishing replica
// records nothing twice. AsyncLocalStorage carries the request through every await of its turn.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditEventInput, AuditRecorder } from '../core/audit.ts';
import { stepEventId } from '../core/audit-event.ts';

interface Scope { id: string; counts: Map<string, number> }

const scopes = new AsyncLocalStorage<Scope>();

/** Runs `work` as pending answer `id`: events it records get ids from (id, action, n-th of that action). */
export function inAnswerScope<T>(id: string, work: () => Promise<T>): Promise<T> {
  return scopes.run({ id, counts: new Map() }, work);
}

/** The recorder every feature uses, giving events recorded inside an answer scope their stable ids. */
export function answerScopedRecorder(recorder: AuditRecorder): AuditRecorder {
  return {
    record(event: AuditEventInput): Promise<void> {
      const scope = scopes.getStore();
      // A step's id (version 8) is already the same in every process that records it: kept.
      if (!scope || event.eventId[14] === '8') return recorder.record(event);
      // Counted per action: the n-th `lookup` of a request is the same event in every run of it.
      const n = scope.counts.get(event.action) ?? 0;
      scope.counts.set(event.action, n + 1);
      return recorder.record({ ...event, eventId: stepEventId(`answer:${scope.id}:${event.action}:${n}`) });
    },
  };
}
