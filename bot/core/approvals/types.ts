// Access requests (DESIGN.md: AccessRequest → Grant), platform-neutral. A request asks for one field of
// one customer (`reveal`, minutes), field groups of one customer (`access`, hours or days) or a list
// (`export`, a segment's rows with chosen fields) or an audit query's result as a file (`audit-export`,
// the resolved filter as a page token: ids and codes only, never personal data). Approvers come from the policy, per
// part of the request (parts.ts): every part needs its own quorum of its own approvers; any approver asked denies.
// The store is a port (bot/store/request-store.ts implements it).
import type { CustomerField, FieldGroup } from '../domain.ts';
import type { ExportFieldOutcome } from './export-fields.ts';
import type { PlatformId } from '../platform-id.ts';
import type { ChannelKind } from '../../../policies/types.ts';

// `erase`: a customer's personal data erased on request (PIPL Art. 47), decided by settings.erasure (the DPO).
export const REQUEST_KINDS = ['reveal', 'access', 'export', 'audit-export', 'erase'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const REQUEST_STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export type FinalOutcome = Exclude<RequestStatus, 'pending'>;

/** Where a card copy was posted, so every copy can be updated in place. */
export interface CardRef {
  platform: PlatformId; // a chat platform, or the playground
  channel: string;
  ts: string; // Slack message ts / Lark message id
  employeeId: string;
  role: 'approver' | 'requester';
}

/** The lookup card a reveal came from (updated for the requester only). */
export interface RequestOrigin {
  platform: PlatformId;
  channel: string;
  channelKind: ChannelKind;
  /** Slack response_url of the ephemeral card; secret-ish, never logged, never audited. */
  responseUrl?: string;
}

/** An export's list: attribute conditions over profile fields (no operators from user input). */
export interface SegmentSpec {
  conditions: Record<string, string>; // e.g. { region: 'east', status: 'active' }
  customerIds: string[]; // explicit ids, when the export names customers
}

/**
 * What one part of a request is decided on: a field group the grant would widen, `export` (the requester's
 * own manager or head agrees to any export), `audit-export` (settings.auditExport), or `request` (a request
 * stored before requirements were kept per part: its old combined requirement, read as one part).
 */
export type PartName = FieldGroup | 'export' | 'audit-export' | 'erase' | 'request';

/** One part's requirement, resolved against the directory when the request was made. */
export interface RequestPart {
  name: PartName;
  /** Eligible approvers in escalation order: tier 0 is asked first, later tiers on escalation. */
  approverTiers: string[][];
  /** How many tiers have been asked (enough for the quorum at creation, +1 per escalation). */
  tiersAsked: number;
  quorum: number;
  maxDurationMinutes: number;
  ruleId: string; // the approval rule (or setting) behind this part
}

export interface AccessRequest {
  requestId: string;
  kind: RequestKind;
  requesterId: string;
  customerIds: string[]; // reveal / access: exactly one
  field?: CustomerField; // reveal
  groups: FieldGroup[]; // the groups a grant would widen
  fields: CustomerField[]; // export columns, reveal field; empty for access (whole groups)
  /** export: each column's outcome(s) if approved (export-fields.ts), shown on the cards and audited. */
  fieldOutcomes?: ExportFieldOutcome[];
  segment?: SegmentSpec; // export
  /** audit-export: the audit filter as a cursor-less page token (audit-query-service.ts), no purpose in it. */
  auditQuery?: string;
  purpose: string;
  durationMinutes: number;
  /** Every part must reach its own quorum (approved only then); any asked approver's deny denies. */
  parts: RequestPart[];
  ruleIds: string[]; // rules behind the request (the lookup's and every part's)
  status: RequestStatus;
  createdAt: Date;
  remindAt: Date;
  escalateAt: Date;
  expiresAt: Date;
  cards: CardRef[];
  origin?: RequestOrigin;
  // set once decided
  decidedBy?: string[];
  decidedAt?: Date;
  denyReason?: string;
  grantId?: string;
  grantExpiresAt?: Date;
  exportId?: string;
}

export interface Vote { approverId: string; at: Date }

export interface RequestDecision { requestId: string; outcome: FinalOutcome; by: string[]; at: Date; reason?: string }

export interface RequestStore {
  create(request: AccessRequest): Promise<void>;
  /** The request with its final decision merged in (the decisions collection is the truth). */
  get(requestId: string): Promise<AccessRequest | null>;
  /** Records one approver's approval; false when that approver already voted. */
  addVote(requestId: string, approverId: string, at: Date): Promise<boolean>;
  votes(requestId: string): Promise<Vote[]>;
  /**
   * Compare-and-swap from pending to a final outcome: exactly one caller wins (a unique insert, which is
   * atomic on FerretDB and MongoDB alike). Returns `{ won: false, decision }` with the earlier decision.
   */
  decide(decision: RequestDecision): Promise<{ won: boolean; decision: RequestDecision }>;
  /** Plain field updates after a won transition (status copy, grant id, ...). */
  update(requestId: string, patch: Partial<Pick<AccessRequest, 'status' | 'decidedBy' | 'decidedAt' | 'denyReason' | 'grantId' | 'grantExpiresAt' | 'exportId'>>): Promise<void>;
  /** Records one part's escalation (its own field, so escalations of different parts cannot overwrite each other). */
  askTiers(requestId: string, part: PartName, tiersAsked: number): Promise<void>;
  /**
   * Requests decided at or before `before` whose decision was never carried out (the stored copy still
   * says pending): the decision event could not be recorded after the compare-and-swap was won.
   */
  halfDecided(before: Date): Promise<{ request: AccessRequest; decision: RequestDecision }[]>;
  /** Approved exports (customer or audit) decided between `from` and `to`: the export sweep's candidates. */
  approvedExports(from: Date, to: Date): Promise<AccessRequest[]>;
  addCard(requestId: string, card: CardRef): Promise<void>;
  /**
   * Claims the one slot of an ask (requester + what is asked, hashed) for `requestId`: null for exactly one
   * caller (a unique insert), else the request holding the slot and since when.
   */
  claimAsk(key: string, requestId: string, at: Date): Promise<{ requestId: string; at: Date } | null>;
  /** Frees the slot if `requestId` still holds it (its request was decided, or never created). */
  releaseAsk(key: string, requestId: string): Promise<void>;
  /** Claims a one-time notice (reminder, escalation step, grant expiry): true for exactly one caller. */
  claimNotice(key: string, at: Date): Promise<boolean>;
  /** Pending requests with a reminder, escalation or expiry due at `now`. */
  duePending(now: Date): Promise<AccessRequest[]>;
  /** Approved requests whose grant has expired by `now`. */
  expiredGrants(now: Date): Promise<AccessRequest[]>;
  /** Pending requests of a requester (for `/customer requests`, offboarding). */
  pendingOf(requesterId: string): Promise<AccessRequest[]>;
  /** Pending requests naming the customer (an erasure or a CRM deletion cancels them). */
  pendingOnCustomer(customerId: string): Promise<AccessRequest[]>;
}

/** What the requester asks for, before purpose and duration are known (the modal's starting point). */
export type RequestTarget =
  | { kind: 'reveal'; customerId: string; field: CustomerField }
  | { kind: 'access'; customerId: string; groups?: FieldGroup[] }
  | { kind: 'export'; segment: SegmentSpec; fields: CustomerField[] }
  | { kind: 'audit-export'; query: string }
  | { kind: 'erase'; customerId: string };

/** The targets a lookup card's buttons name: one customer. */
export type CustomerTarget = Extract<RequestTarget, { kind: 'reveal' | 'access' }>;

export interface RequestInput { target: RequestTarget; purpose: string; durationMinutes: number; groups?: FieldGroup[] }
