// A seeded, deterministic audit history for the DPO report tests: fixed event ids, fixed times (the
// chain writer's clock is set to each event's time), fixed keys; the events go through the real chain
// writer and checkpoint signer, and the requests and grants they name are stored through the real
// stores. November 2026 is the period under report; one event before and one after it test the bounds.
import type { Connection } from 'mongoose';
import type { AccessRequest } from '../../bot/core/approvals/types.ts';
import type { AuditAction, AuditEventInput } from '../../bot/core/audit.ts';
import { auditModels, type AuditModels } from '../../bot/store/audit-model.ts';
import { demoEmployee, demoEmployeeList } from '../../bot/store/demo-company.ts';
import { EmployeeStore } from '../../bot/store/employee-store.ts';
import { grantModel, type GrantDoc } from '../../bot/store/grant-store.ts';
import { MongoRequestStore } from '../../bot/store/request-store.ts';
import { ChainWriter } from '../../workers/audit/chain-writer.ts';
import { writeCheckpoint } from '../../workers/audit/checkpoints.ts';

export const SIGNING_KEY = Buffer.alloc(32, 7);
export const HMAC_KEY = Buffer.alloc(32, 9);
export const CUSTOMER = 'C-000101';
export const ERASED = 'C-000303';

const id = (key: string) => demoEmployee(key as Parameters<typeof demoEmployee>[0]).employeeId;
const eventId = (n: number) => `0190aaaa-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

type Step = Partial<Omit<AuditEventInput, 'v' | 'eventId' | 'occurredAt' | 'actor'>> & { at: string; actor: string | null; action: AuditAction };

const POLICY_OLD = ['policy:0f3a9c1e5b7d2a46', 'file:default.yaml:sha256:1e0c6d8f4b2a9c7e5d3f1a0b8c6e4d2f0a9b7c5e3d1f0a8b6c4e2d0f9a7b5c3e'];
const POLICY_NEW = ['policy:7c2e4a6b8d0f1e3a', 'file:default.yaml:sha256:aa11bb22cc33dd44ee55ff6600aa11bb22cc33dd44ee55ff6600aa11bb22cc33', 'file:finance.yaml:sha256:b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1'];

/** The history, in order. */
function script(): Step[] {
  const sys = null;
  return [
    { at: '2026-10-30T09:00:00Z', actor: sys, action: 'policy.load', ruleIds: POLICY_OLD, meta: { component: 'bot', files: 1, rules: 12, approvals: 4 } },
    { at: '2026-10-31T09:00:00Z', actor: id('salesRep'), action: 'lookup', customerIds: [CUSTOMER], fields: [{ name: 'name', outcome: 'show' }], ruleIds: ['sales-own'] },
    { at: '2026-11-02T09:00:00Z', actor: id('salesRep'), action: 'lookup', customerIds: [CUSTOMER], fields: [{ name: 'name', outcome: 'show' }, { name: 'phone', outcome: 'mask:phone' }], ruleIds: ['sales-own'], channelKind: 'dm', purpose: 'renewal call' },
    { at: '2026-11-02T10:00:00Z', actor: id('marketingStaff'), action: 'lookup.refused', customerIds: [CUSTOMER], decision: 'denied', reasonCode: 'no_rule' },
    { at: '2026-11-03T09:00:00Z', actor: id('supportAgent'), action: 'request.create', customerIds: [CUSTOMER], ruleIds: ['approve-contact'], requestId: 'RQ-0001', purpose: 'ticket follow-up', meta: { kind: 'access' } },
    { at: '2026-11-03T10:00:00Z', actor: id('salesHead'), action: 'request.approve', customerIds: [CUSTOMER], ruleIds: ['approve-contact'], requestId: 'RQ-0001', purpose: 'ticket follow-up', meta: { kind: 'access', by: id('salesHead') } },
    { at: '2026-11-03T10:00:01Z', actor: id('salesHead'), action: 'grant.start', customerIds: [CUSTOMER], ruleIds: ['approve-contact'], requestId: 'RQ-0001', grantId: 'G-0001', purpose: 'ticket follow-up', meta: { kind: 'access' } },
    { at: '2026-11-03T11:00:00Z', actor: id('supportAgent'), action: 'lookup', customerIds: [CUSTOMER], fields: [{ name: 'phone', outcome: 'show' }], ruleIds: ['grant:G-0001'], grantId: 'G-0001', channelKind: 'dm' },
    { at: '2026-11-04T09:00:00Z', actor: id('supportAgent'), action: 'reveal', customerIds: [CUSTOMER], fields: [{ name: 'email', outcome: 'show' }], ruleIds: ['grant:G-0001'], grantId: 'G-0001', channelKind: 'dm' },
    { at: '2026-11-05T09:00:00Z', actor: id('marketingLead'), action: 'grant.start', customerIds: [CUSTOMER, 'C-000202'], ruleIds: ['approve-export'], requestId: 'RQ-0002', grantId: 'G-0002', purpose: 'event invitations', meta: { kind: 'export' } },
    { at: '2026-11-05T09:05:00Z', actor: id('marketingLead'), action: 'export.start', customerIds: [CUSTOMER, 'C-000202'], fields: [{ name: 'name', outcome: 'show' }, { name: 'phone', outcome: 'mask:phone' }], ruleIds: ['grant:G-0002'], requestId: 'RQ-0002', grantId: 'G-0002', exportId: 'X-0001', purpose: 'event invitations', meta: { maxRows: 50000 } },
    { at: '2026-11-05T09:06:00Z', actor: id('marketingLead'), action: 'export.complete', customerIds: [CUSTOMER, 'C-000202'], fields: [{ name: 'name', outcome: 'show' }, { name: 'phone', outcome: 'mask:phone' }], ruleIds: ['grant:G-0002'], requestId: 'RQ-0002', grantId: 'G-0002', exportId: 'X-0001', purpose: 'event invitations', meta: { rows: 2, capped: false, columns: 3 } },
    { at: '2026-11-06T09:00:00Z', actor: id('salesLeadEast'), action: 'grant.start', customerIds: ['C-000202'], ruleIds: ['approve-sales'], requestId: 'RQ-0003', grantId: 'G-0003', purpose: 'pipeline review', meta: { kind: 'access' } },
    { at: '2026-11-10T02:00:00Z', actor: sys, action: 'admin.freeze', meta: { subject: id('marketingStaff'), detector: 'volume', count: 120, automatic: true } },
    { at: '2026-11-10T03:00:00Z', actor: id('admin'), action: 'admin.unfreeze', meta: { subject: id('marketingStaff'), button: 'unfreeze' } },
    { at: '2026-11-12T09:00:00Z', actor: id('salesHead'), action: 'review.keep', grantId: 'G-0001', channelKind: 'dm', meta: { subject: id('supportAgent'), reviewId: 'RV-0001', cycleId: 'CY-2026-11', reason: 'access_review' } },
    { at: '2026-11-12T09:30:00Z', actor: id('legalHead'), action: 'review.revoke', grantId: 'G-0003', channelKind: 'dm', meta: { subject: id('salesRep'), reviewId: 'RV-0002', cycleId: 'CY-2026-11', reason: 'access_review', revoked: true } },
    { at: '2026-11-13T09:00:00Z', actor: id('financeClerk'), action: 'lookup.refused', customerIds: ['C-000202'], decision: 'denied', reasonCode: 'outside_hours' },
    { at: '2026-11-15T09:00:00Z', actor: sys, action: 'customer.erase', customerIds: [ERASED], purpose: 'DSR-2026-017' },
    { at: '2026-11-20T09:00:00Z', actor: sys, action: 'policy.load', ruleIds: POLICY_NEW, meta: { component: 'bot', files: 2, rules: 14, approvals: 5 } },
    { at: '2026-12-02T09:00:00Z', actor: id('salesRep'), action: 'lookup', customerIds: [CUSTOMER], fields: [{ name: 'name', outcome: 'show' }], ruleIds: ['sales-own'] },
  ];
}

function toEvent(p: Step, n: number): AuditEventInput {
  const { at, actor, ...rest } = p;
  return {
    v: 1, eventId: eventId(n), occurredAt: new Date(at).toISOString(),
    actor: actor ? { employeeId: actor, platform: 'slack' } : { employeeId: null, platform: 'system' },
    channelKind: 'none', customerIds: [], fields: [], decision: 'allowed', ruleIds: [], ...rest,
  } as AuditEventInput;
}

function request(requestId: string, kind: AccessRequest['kind'], requester: string, customerIds: string[], groups: AccessRequest['groups'], purpose: string, at: string): AccessRequest {
  const t = new Date(at);
  return {
    requestId, kind, requesterId: requester, customerIds, groups, fields: [], purpose, durationMinutes: 1440,
    parts: [], ruleIds: [], status: 'pending', createdAt: t, remindAt: t, escalateAt: t, expiresAt: new Date(t.getTime() + 86_400_000), cards: [],
  };
}

function grant(grantId: string, granteeId: string, customerIds: string[], groups: string[], grantedBy: string[], purpose: string, at: string, requestId: string): GrantDoc {
  const t = new Date(at);
  return { grantId, granteeId, targetKind: 'customers', customerIds, groups, actions: ['lookup'], expiresAt: new Date(t.getTime() + 7 * 86_400_000), grantedBy, purpose, createdAt: t, requestId };
}

/** Writes the history into `conn`'s database; returns the audit models. */
export async function seedReportHistory(conn: Connection): Promise<AuditModels> {
  await new EmployeeStore(conn).upsertMany(demoEmployeeList());
  const requests = new MongoRequestStore(conn);
  await requests.ensureIndexes();
  const decide = async (r: AccessRequest, by: string[], at: string) => {
    await requests.create(r);
    await requests.decide({ requestId: r.requestId, outcome: 'approved', by, at: new Date(at) });
  };
  await decide(request('RQ-0001', 'access', id('supportAgent'), [CUSTOMER], ['contact'], 'ticket follow-up', '2026-11-03T09:00:00Z'), [id('salesHead')], '2026-11-03T10:00:00Z');
  await decide({ ...request('RQ-0002', 'export', id('marketingLead'), [CUSTOMER, 'C-000202'], ['contact'], 'event invitations', '2026-11-04T15:00:00Z'), fields: ['name', 'phone'] },
    [id('marketingHead'), id('salesHead')], '2026-11-05T08:55:00Z');
  await decide(request('RQ-0003', 'access', id('salesLeadEast'), ['C-000202'], ['sales'], 'pipeline review', '2026-11-06T08:00:00Z'), [id('salesHead')], '2026-11-06T09:00:00Z');
  await grantModel(conn).collection.insertMany([
    grant('G-0001', id('supportAgent'), [CUSTOMER], ['contact'], [id('salesHead')], 'ticket follow-up', '2026-11-03T10:00:01Z', 'RQ-0001'),
    grant('G-0002', id('marketingLead'), [CUSTOMER, 'C-000202'], ['contact'], [id('marketingHead'), id('salesHead')], 'event invitations', '2026-11-05T09:00:00Z', 'RQ-0002'),
    grant('G-0003', id('salesLeadEast'), ['C-000202'], ['sales'], [id('salesHead')], 'pipeline review', '2026-11-06T09:00:00Z', 'RQ-0003'),
  ]);
  const models = await auditModels(conn);
  let now = new Date(0);
  const clock = { now: () => now };
  const writer = new ChainWriter(models, SIGNING_KEY, clock, 60_000);
  const events = script().map(toEvent);
  for (const [i, e] of events.entries()) {
    now = new Date(new Date(e.occurredAt).getTime() + 500);
    await writer.write([e]);
    // A signed checkpoint after every fifth event, as the worker's timer would write them.
    if ((i + 1) % 5 === 0) await writeCheckpoint(models, SIGNING_KEY, clock, { onlyIfAdvanced: true, knownTail: writer.knownTail() });
  }
  return models;
}

export const HISTORY_EVENTS = script().length;
