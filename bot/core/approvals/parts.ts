// Requirements compose by conjunction (issue 13): a request is made of parts, one per field group it
// would widen (plus `export`, the requester's own manager / head for any export, or `audit-export`).
// Each part keeps its own approvers in tiers, quorum, escalation and maximum duration. An approval by
// someone counts for every part that asks them; the request is approved only when every part has its
// quorum of distinct approvers asked for that part. Pure functions over the stored request.
import type { AccessRequest, PartName, RequestPart } from './types.ts';

/** The approvers a part has asked so far (its first `tiersAsked` tiers). */
export function askedOf(part: RequestPart): string[] {
  return part.approverTiers.slice(0, part.tiersAsked).flat();
}

/** Everyone asked by any part, once each, in part order. */
export function askedApprovers(r: Pick<AccessRequest, 'parts'>): string[] {
  return [...new Set(r.parts.flatMap(askedOf))];
}

/** Everyone who may ever be asked (every tier of every part). */
export function allApprovers(r: Pick<AccessRequest, 'parts'>): string[] {
  return [...new Set(r.parts.flatMap((p) => p.approverTiers.flat()))];
}

/** The parts that ask `employeeId` to decide. */
export function partsAsking(r: Pick<AccessRequest, 'parts'>, employeeId: string): PartName[] {
  return r.parts.filter((p) => askedOf(p).includes(employeeId)).map((p) => p.name);
}

export interface PartProgress { name: PartName; votes: number; quorum: number }

/** Per part: how many of `voters` that part asked, against its quorum. */
export function progressOf(r: Pick<AccessRequest, 'parts'>, voters: readonly string[]): PartProgress[] {
  const distinct = new Set(voters);
  return r.parts.map((p) => ({ name: p.name, votes: askedOf(p).filter((id) => distinct.has(id)).length, quorum: p.quorum }));
}

/** Whether `voters` meet every part's quorum. */
export function allPartsMet(r: Pick<AccessRequest, 'parts'>, voters: readonly string[]): boolean {
  return progressOf(r, voters).every((p) => p.votes >= p.quorum);
}

/** How many tiers a part asks at once so that its quorum can be reached at all. */
export function tiersForQuorum(tiers: string[][], quorum: number): number {
  let asked = 0;
  let people = 0;
  while (asked < tiers.length && people < quorum) people += tiers[asked++]!.length;
  return Math.max(1, asked);
}

/** The shortest maximum duration of the parts: what the whole request may ask for. */
export function maxDurationOf(parts: readonly Pick<RequestPart, 'maxDurationMinutes'>[]): number {
  return Math.min(...parts.map((p) => p.maxDurationMinutes));
}
