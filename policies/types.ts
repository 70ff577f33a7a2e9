// The policy engine's contract: what callers pass in and what an explained decision looks like.
// Pure types; the engine (policies/engine/engine.ts, `createPolicyEngine`) implements `PolicyEngine`.
import type { CustomerField, Department, FieldGroup, Region, Role, Customer } from '../bot/domain/domain.ts';
import type { ScopeFilter } from '../bot/domain/scope.ts';

export const ACTIONS = ['lookup', 'reveal', 'export', 'request', 'approve', 'audit.query', 'admin'] as const;
export type Action = (typeof ACTIONS)[number];

export const CHANNEL_KINDS = ['dm', 'private', 'public', 'shared'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** Who is asking, as the policy sees them (derived from an Employee). */
export interface Principal {
  employeeId: string;
  department: Department;
  roles: Role[];
  region: Region;
  external: boolean;
  timezone: string;
  managerId?: string;
}

export interface DecisionContext {
  channel: ChannelKind;
  at: Date; // from the injected clock
  purpose?: string;
}

export type FieldOutcome = 'show' | 'hide' | `mask:${string}`;

export interface FieldDecision {
  outcome: FieldOutcome;
  ruleIds: string[]; // rules (and grants, as `grant:<id>`) behind the outcome
  reason: string; // one line, for `policy explain` and the audit log
  grantId?: string; // set when a grant widened this field
}

export interface ApprovalRequirement {
  approvers: { kind: 'department_head' | 'manager' | 'role'; department?: Department; role?: Role }[];
  quorum: number;
  maxDurationMinutes: number;
  reasonRequired: boolean;
  selfApproval: false;
  /** The approval rule this requirement comes from (each part of a request names its own). */
  ruleId?: string;
}

export interface Decision {
  allowed: boolean;
  action: Action;
  /**
   * Record scope as a MongoDB filter. When nothing allows it is ALWAYS_FALSE, `{ customerId: { $in: [] } }`
   * (`$expr` is not supported by FerretDB 1.24). Combine with other conditions through `$and`, never by spreading.
   */
  scope: ScopeFilter;
  /** Per-field outcome; only meaningful for lookup / reveal / export. Fields absent here are hidden. */
  fields: Partial<Record<CustomerField, FieldDecision>>;
  ruleIds: string[];
  /** Stable code when refused (e.g. `purpose_required`, `off_hours`, `external_denied`, `no_rule`). */
  denyReason?: string;
  purposeRequired: boolean;
  /** What an approval would need to widen this decision (per field group), when policy allows asking. */
  approvals: Partial<Record<FieldGroup, ApprovalRequirement>>;
  grantIds: string[];
}

export interface PolicyEngine {
  /** Policy version (hash of the loaded files): abilities are cached per principal and version. */
  readonly version: string;
  decide(principal: Principal, action: Action, context: DecisionContext, customer?: Customer): Promise<Decision>;
  /**
   * Decisions for one principal against one snapshot of their grants active at `at`, read once. A lookup
   * decides for the query and again for each candidate (up to ten): one grant read instead of eleven, and
   * every decision of the lookup sees the same grants.
   */
  decideAs(principal: Principal, at: Date): Promise<(action: Action, context: DecisionContext, customer?: Customer) => Decision>;
  /**
   * The view for a channel audience: each field at the strictest outcome any member gets, allowed only if
   * every member is. `null` stands for a member we could not resolve: it refuses the whole view
   * (denyReason `unknown_member`); an empty audience is refused too (`empty_audience`).
   */
  decideForAudience(principals: readonly (Principal | null)[], action: Action, context: DecisionContext, customer?: Customer): Promise<Decision>;
  /** Whether `customer` lies inside `decision.scope` (the same conditions as the database filter). */
  inScope(decision: Decision, customer: Customer): boolean;
}
