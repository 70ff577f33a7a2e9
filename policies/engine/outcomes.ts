// Ordering of field outcomes, from most to least revealing: show < mask:*.loose < mask:<preset> <
// mask:*.strict < hide. One principal gets the most revealing outcome any of its rules gives (rules
// only widen); an audience gets the least revealing outcome any member gets.
import { presetInfo } from '../mask/index.ts';
import type { FieldOutcome } from '../types.ts';

export function rank(outcome: FieldOutcome): number {
  if (outcome === 'show') return 0;
  if (outcome === 'hide') return 4;
  return presetInfo(outcome.slice(5))?.level ?? 3;
}

/** The more revealing of two outcomes; equal ranks pick the smaller preset name (deterministic). */
export function wider(a: FieldOutcome, b: FieldOutcome): FieldOutcome {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? a : b;
  return a <= b ? a : b;
}

/** The less revealing of two outcomes. Two different presets of equal rank may keep different parts of a value, so together they become `mask:redact`. */
export function narrower(a: FieldOutcome, b: FieldOutcome): FieldOutcome {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra > rb ? a : b;
  return a === b ? a : 'mask:redact';
}
