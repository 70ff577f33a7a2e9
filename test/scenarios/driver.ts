// The platform driver interface of the shared scenario list: a scenario says what users do ("look up X
// in a DM", "share it in the team channel"); a driver does it through one chat platform's real adapter
// and reports what the user saw, in platform-neutral terms, plus the audit trail it left.
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';

/** A card as the user saw it: its title and `label → value` lines (unescaped), and whether it offered Share. */
export interface SeenCard { title: string; fields: Map<string, string>; text: string; shareable: boolean }

/** A request card (approval flow) as one reader saw it: title, `label → value` lines, status line, buttons. */
export interface SeenApproval { title: string; fields: Map<string, string>; status: string; buttons: string[] }

/** One audit record reduced to what must be the same on every platform. */
export interface TrailEntry {
  action: string;
  employeeId: string | null;
  channelKind: string;
  customerIds: string[];
  fields: string[];
  decision: string;
  reasonCode?: string;
  stage?: string;
  audience?: number;
}

/**
 * What a platform may lack, so a scenario that needs it does not apply there. `teamChannel`: the bot
 * answers in a channel several members share (WeCom's application messages reach one-to-one chats only).
 */
export type Capability = 'teamChannel';

export interface PlatformDriver {
  /** The platform's id as the audit log records it (an open set: every adapter's driver runs the list). */
  readonly platform: string;
  /** Capabilities this platform does not have; absent: all of them. */
  readonly lacks?: readonly Capability[];
  start(): Promise<void>;
  close(): Promise<void>;
  /** `text` typed by `user` in their DM with the bot. */
  lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard>;
  /** `text` asked by `user` in the team channel (answered privately), then Share clicked; returns the posted card. */
  shareInTeam(user: DemoEmployeeKey, text: string): Promise<{ own: SeenCard; shared: SeenCard }>;
  /**
   * `user` asks for access to field `groups` of a customer from its lookup card (the request form filled
   * in with `reason` and `minutes`); resolves with the request id and the card `approver` receives.
   */
  requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }>;
  /**
   * `user` clicks Reveal on the `field` line (its label) of a customer's lookup card in their DM and submits
   * the form with `reason` and `minutes`; resolves with the request id and the card `approver` receives.
   */
  requestReveal(user: DemoEmployeeKey, customerId: string, field: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }>;
  /** The lookup card reveal `requestId` was asked from, as its requester sees it once the bot has updated it `updates` times. */
  revealCard(requestId: string, updates: number): Promise<SeenCard>;
  /**
   * The harness clock moves `minutes` forward and the workers' approval sweeper runs (its real queue);
   * resolves with the text of the DM `user` then receives that mentions `#mention` (e.g. a grant id).
   */
  expireGrants(minutes: number, user: DemoEmployeeKey, mention: string): Promise<string>;
  /** `approver` clicks Approve; resolves with what they were answered and every copy of the card once updated. */
  approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }>;
  /**
   * `approver` clicks Deny on their copy of the request card and gives `reason` in the form that opens;
   * resolves with every copy of the card once updated and the DM `requester` receives about it. (How the
   * form itself closes is the platform's own: a Slack modal just closes, a Lark card form toasts.)
   */
  deny(approver: DemoEmployeeKey, requestId: string, reason: string, requester: DemoEmployeeKey): Promise<{ copies: SeenApproval[]; told: string }>;
  /**
   * `user` types `export …` in their DM, submits the form, `approver` approves; resolves with the CSV
   * file as delivered to the user's DM (UTF-8 text).
   */
  exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string>;
  /** The audit records since the last call, once at least `atLeast` are stored. */
  trailSince(atLeast: number): Promise<TrailEntry[]>;
}

/** Members of the team channel every driver sets up (besides the bot). */
export const TEAM: DemoEmployeeKey[] = ['salesRep', 'financeClerk', 'supportAgent', 'legalCounsel'];
export const CUSTOMERS = 60;
export const SEED = 'slack-tests'; // both harnesses seed the same demo customers

export function trailEntry(r: Record<string, unknown>): TrailEntry {
  const meta = (r.meta ?? {}) as Record<string, unknown>;
  return {
    action: String(r.action),
    employeeId: ((r.actor ?? {}) as { employeeId?: string | null }).employeeId ?? null,
    channelKind: String(r.channelKind),
    customerIds: (r.customerIds as string[] | undefined) ?? [],
    fields: ((r.fields as { name: string; outcome: string }[] | undefined) ?? []).map((f) => `${f.name}:${f.outcome}`),
    decision: String(r.decision),
    ...(r.reasonCode ? { reasonCode: String(r.reasonCode) } : {}),
    ...(typeof meta.stage === 'string' ? { stage: meta.stage } : {}),
    ...(typeof meta.audience === 'number' ? { audience: meta.audience } : {}),
  };
}
