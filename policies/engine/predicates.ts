// The in-memory scope check behind each decision, kept beside it rather than in it so the decision
// itself stays plain, serialisable data. Decisions are frozen once registered.
import type { Customer } from '../../bot/domain/domain.ts';
import type { Decision } from '../types.ts';

const predicates = new WeakMap<Decision, (c: Customer) => boolean>();

export function registerPredicate(decision: Decision, predicate: (c: Customer) => boolean): Decision {
  predicates.set(decision, predicate);
  return Object.freeze(decision);
}

/** The check for a decision this engine made; a decision it did not make (e.g. deserialised) matches nothing. */
export function predicateOf(decision: Decision): (c: Customer) => boolean {
  return predicates.get(decision) ?? (() => false);
}
