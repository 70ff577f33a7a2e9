// Grants: time-boxed widenings of a decision for one grantee, on named customers or a saved segment,
// for some field groups and actions. The store is a port (bot/store/grant-store.ts implements it with
// mongoose); the engine re-checks expiry and revocation itself, with the decision's clock time, so a
// store that returns a stale grant still cannot widen anything.
import { CustosError, ErrorCode } from '../bot/domain/errors.ts';
import { FIELD_GROUP_NAMES, type FieldGroup } from '../bot/domain/domain.ts';
import { checkConditions, variablesIn, type Conditions } from './conditions.ts';
import { ACTIONS, type Action } from './types.ts';

export type GrantTarget =
  | { kind: 'customers'; customerIds: string[] }
  | { kind: 'segment'; segmentId: string; conditions: Conditions };

export interface Grant {
  grantId: string;
  granteeId: string; // employeeId
  target: GrantTarget;
  groups: FieldGroup[];
  actions: Action[];
  expiresAt: Date;
  grantedBy: string[]; // employeeIds of the approvers
  purpose: string;
  createdAt: Date;
  requestId?: string;
  revokedAt?: Date;
  revokedBy?: string;
}

/** Counts only while not revoked and strictly before `expiresAt` (a grant expiring exactly now is expired). */
export function isGrantActive(grant: Grant, at: Date): boolean {
  return grant.revokedAt === undefined && at.getTime() < grant.expiresAt.getTime();
}

/** What the engine needs: the grants that may be active for a grantee at a time. */
export interface GrantSource {
  activeFor(granteeId: string, at: Date): Promise<Grant[]>;
}

export interface GrantStore extends GrantSource {
  /** Stores a new grant; rejects a duplicate grantId. */
  create(grant: Grant): Promise<Grant>;
  byId(grantId: string): Promise<Grant | null>;
  /** Revokes once (compare-and-swap on "not revoked"); null when missing or already revoked. */
  revoke(grantId: string, by: string, at: Date): Promise<Grant | null>;
  /** Revokes every active grant of a grantee (offboarding); returns how many. */
  revokeAllFor(granteeId: string, by: string, at: Date): Promise<number>;
  /** Grants that expired in (since, until]: for expiry notices. */
  expiredBetween(since: Date, until: Date): Promise<Grant[]>;
}

/** An in-memory store: for policy test matrices, the CLI and unit tests. */
export class MemoryGrantStore implements GrantStore {
  private readonly grants = new Map<string, Grant>();

  constructor(initial: Grant[] = []) {
    for (const g of initial) this.grants.set(g.grantId, structuredClone(g));
  }

  async activeFor(granteeId: string, at: Date): Promise<Grant[]> {
    return [...this.grants.values()].filter((g) => g.granteeId === granteeId && isGrantActive(g, at)).map((g) => structuredClone(g));
  }

  async create(grant: Grant): Promise<Grant> {
    assertValidGrant(grant);
    if (this.grants.has(grant.grantId)) throw new CustosError(ErrorCode.GrantInvalid, `grant ${grant.grantId} already exists`, { grantId: grant.grantId });
    this.grants.set(grant.grantId, structuredClone(grant));
    return structuredClone(grant);
  }

  async byId(grantId: string): Promise<Grant | null> {
    const g = this.grants.get(grantId);
    return g ? structuredClone(g) : null;
  }

  async revoke(grantId: string, by: string, at: Date): Promise<Grant | null> {
    const g = this.grants.get(grantId);
    if (!g || g.revokedAt) return null;
    g.revokedAt = at;
    g.revokedBy = by;
    return structuredClone(g);
  }

  async revokeAllFor(granteeId: string, by: string, at: Date): Promise<number> {
    let n = 0;
    for (const g of this.grants.values()) {
      if (g.granteeId === granteeId && isGrantActive(g, at)) {
        g.revokedAt = at;
        g.revokedBy = by;
        n++;
      }
    }
    return n;
  }

  async expiredBetween(since: Date, until: Date): Promise<Grant[]> {
    return [...this.grants.values()]
      .filter((g) => g.expiresAt.getTime() > since.getTime() && g.expiresAt.getTime() <= until.getTime())
      .map((g) => structuredClone(g));
  }
}

/** Throws CustosError(GrantInvalid) naming every problem; stores call it before writing anything. */
export function assertValidGrant(grant: Grant): void {
  const problems = grantProblems(grant);
  if (problems.length) throw new CustosError(ErrorCode.GrantInvalid, `invalid grant: ${problems.join('; ')}`, { problems });
}

/** Every problem with a grant, as one-line messages (empty when it is well-formed). */
export function grantProblems(grant: Grant): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(grant.grantId)) problems.push('grantId must be 1-64 letters, digits, _ or -');
  if (!grant.granteeId) problems.push('granteeId is required');
  // An export grant may widen no group: the policy already lets every requested field through, and
  // the grant only authorises the export itself (issue 13, defect 8). Any other grant widens something.
  const exportOnly = grant.actions.length > 0 && grant.actions.every((a) => a === 'export');
  if ((grant.groups.length === 0 && !exportOnly) || grant.groups.some((g) => !(FIELD_GROUP_NAMES as string[]).includes(g))) problems.push('groups must name known field groups');
  if (grant.actions.length === 0 || grant.actions.some((a) => !(ACTIONS as readonly string[]).includes(a))) problems.push('actions must name known actions');
  if (!(grant.expiresAt instanceof Date) || Number.isNaN(grant.expiresAt.getTime())) problems.push('expiresAt must be a date');
  else if (grant.expiresAt.getTime() <= grant.createdAt.getTime()) problems.push('expiresAt must be after createdAt');
  if (grant.grantedBy.length === 0) problems.push('grantedBy must name at least one approver');
  if (grant.grantedBy.includes(grant.granteeId)) problems.push('a grantee cannot approve their own grant');
  if (!grant.purpose.trim()) problems.push('purpose is required');
  if (grant.target.kind === 'customers') {
    if (grant.target.customerIds.length === 0) problems.push('target.customerIds must not be empty');
  } else {
    if (!grant.target.segmentId) problems.push('target.segmentId is required');
    for (const p of checkConditions(grant.target.conditions)) {
      problems.push(`target.conditions${p.path.length ? `.${p.path.join('.')}` : ''}: ${p.message}`);
    }
    if (variablesIn(grant.target.conditions).size) problems.push('target.conditions cannot use principal variables');
  }
  return problems;
}
