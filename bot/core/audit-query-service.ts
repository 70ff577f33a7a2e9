// Audit queries from chat: authorise (policy action `audit.query`), resolve people, read one bounded page
// of the log through a port, record the query itself ("record, then show"), return neutral rows.
// Refusals are recorded too. Paging is a keyset on `seq` (gapless, immutable), so a page never shifts
// when new events arrive, and a page token carries only the resolved filter (ids, no personal data):
// every page request is re-authorised and audited like the first.
import type { AuditAction, AuditEventInput, AuditPlatform, AuditRecorder } from './audit.ts';
import { hmacQuery, looksLikePii, newEventId } from './audit-event.ts';
import type { AuditChannel, AuditDecision, MentionForm, ParsedAuditFilter, PersonRef } from './audit-query.ts';
import { auditQueryInvalid } from './audit-query.ts';
import type { Employee } from './domain.ts';
import { CustosError, ErrorCode } from './errors.ts';
import { principalOf } from './identity.ts';
import type { ChatPlatform, Clock, EmployeeDirectory } from './ports.ts';
import { recordThenShow } from './record.ts';
import type { ChannelKind, PolicyEngine } from '../../policies/types.ts';

/** The filter as the log is queried: people resolved to employee ids. */
export interface AuditFilter {
  actorId?: string;
  customerId?: string;
  actions?: AuditAction[];
  decision?: AuditDecision;
  grantId?: string;
  channelKind?: AuditChannel;
  from?: Date;
  to?: Date;
}

/** Older = the next page down (seq < cursor); newer = back up (seq > cursor). */
export type AuditCursor = { older: number } | { newer: number } | null;

export interface AuditRow {
  seq: number;
  occurredAt: Date;
  actorId: string | null;
  action: string;
  decision: string;
  channelKind: string;
  customerIds: string[];
  grantId?: string;
  reasonCode?: string;
}

/** The log, read-only, as the query service needs it. Implemented over MongoDB in bot/store. */
export interface AuditLogReader {
  /**
   * At most `limit` rows matching `filter` beyond `cursor` (the ones nearest to it), returned newest
   * first. Must be index-backed and bounded.
   */
  page(filter: AuditFilter, cursor: AuditCursor, limit: number): Promise<AuditRow[]>;
}

export interface ChainState { ok: boolean; events: number; badSeq?: number; problem?: string; checkpoint?: { n: number; lastSeq: number } }

export interface AuditQueryDeps {
  engine: PolicyEngine;
  log: AuditLogReader;
  directory: EmployeeDirectory;
  recorder: AuditRecorder;
  clock: Clock;
  queryHmacKey: Buffer;
  /** Every registered platform's mention form (the runtime builds them from the registry). */
  mentions?: readonly MentionForm[];
  /** Walks the chain (bounded by operators' patience: the CLI does the same). */
  verifyChain?: () => Promise<ChainState>;
  pageSize?: number;
}

export interface AuditAsker {
  employee: Employee;
  platform: AuditPlatform; // the chat platforms, or the local playground
  platformUserId: string;
  channel: ChannelKind;
  correlationId?: string;
}

export interface AuditPage {
  eventId: string;
  filter: AuditFilter;
  rows: AuditRow[];
  /** Tokens for the paging buttons, present when there is such a page. */
  older?: string;
  newer?: string;
  /** The filter alone (no cursor, no purpose) for "Export results": an `audit-export` request's query. */
  exportQuery?: string;
  pageSize: number;
}

/** Refused: not an auditor, a purpose is required, or the purpose holds personal data. Carries a stable reason for the message. */
export class AuditQueryRefused extends CustosError {
  constructor(readonly reason: 'denied' | 'purpose_required' | 'purpose_pii', readonly denyReason?: string) {
    super(ErrorCode.PolicyDenied, `audit query refused: ${reason}`, { reason, denyReason, surface: 'audit' });
  }
}

export const DEFAULT_AUDIT_PAGE_SIZE = 15;

export class AuditQueryService {
  private readonly pageSize: number;

  constructor(private readonly deps: AuditQueryDeps) {
    this.pageSize = deps.pageSize ?? DEFAULT_AUDIT_PAGE_SIZE;
  }

  /** The mention forms the query text is parsed with (ParseContext.mentions). */
  get mentions(): readonly MentionForm[] { return this.deps.mentions ?? []; }

  /** First page of a typed query. `text` is only kept as an HMAC in the audit event. */
  async query(asker: AuditAsker, parsed: ParsedAuditFilter, purpose: string | undefined, text: string): Promise<AuditPage> {
    await this.authorise(asker, purpose, text);
    const filter = await this.resolve(parsed, asker);
    return this.read(asker, filter, null, purpose, text);
  }

  /** Another page from a button: the token is re-validated, the asker re-authorised. */
  async turn(asker: AuditAsker, token: string): Promise<AuditPage> {
    const { filter, cursor, purpose } = decodePageToken(token);
    const text = `page:${token}`;
    await this.authorise(asker, purpose, text);
    return this.read(asker, filter, cursor, purpose, text);
  }

  async verify(asker: AuditAsker, purpose: string | undefined): Promise<ChainState> {
    await this.authorise(asker, purpose, 'verify');
    if (!this.deps.verifyChain) throw new CustosError(ErrorCode.Internal, 'chain verification is not available here');
    const event = { ...this.event(asker, 'audit.verify', 'verify', purpose), meta: { stage: 'start' } };
    return recordThenShow(this.deps.recorder, event, () => this.deps.verifyChain!());
  }

  private async authorise(asker: AuditAsker, purpose: string | undefined, text: string): Promise<void> {
    const decision = await this.deps.engine.decide(principalOf(asker.employee), 'audit.query', {
      channel: asker.channel, at: this.deps.clock.now(), ...(purpose ? { purpose } : {}),
    });
    let refusal: AuditQueryRefused | null = null;
    // A purpose is stored in the event: personal data in it is refused here, with a message, rather than
    // by the event schema later (which can only say the event is invalid). The refusal omits the purpose.
    if (purpose !== undefined && looksLikePii(purpose)) refusal = new AuditQueryRefused('purpose_pii');
    else if ((decision.purposeRequired || decision.denyReason === 'purpose_required') && !purpose) refusal = new AuditQueryRefused('purpose_required');
    else if (!decision.allowed) refusal = new AuditQueryRefused('denied', decision.denyReason ?? 'no_rule');
    if (!refusal) return;
    const event: AuditEventInput = {
      ...this.event(asker, 'audit.query', text, undefined),
      decision: 'denied',
      ruleIds: decision.ruleIds,
      reasonCode: refusal.reason === 'denied' ? (refusal.denyReason ?? 'no_rule') : refusal.reason,
    };
    // Best effort: a refusal shows nothing, so it does not wait on the audit log being available.
    await this.deps.recorder.record(event).catch(() => undefined);
    throw refusal;
  }

  private async read(asker: AuditAsker, filter: AuditFilter, cursor: AuditCursor, purpose: string | undefined, text: string): Promise<AuditPage> {
    const event: AuditEventInput = {
      ...this.event(asker, 'audit.query', text, purpose),
      meta: { filters: describeFilter(filter), cursor: cursor ? ('older' in cursor ? `older:${cursor.older}` : `newer:${cursor.newer}`) : 'first' },
    };
    return recordThenShow(this.deps.recorder, event, async () => {
      // One read of a page plus one row tells whether the page continues in the reading direction; the
      // other direction continues whenever there is a cursor (it was taken from a row that matched).
      const fetched = await this.deps.log.page(filter, cursor, this.pageSize + 1);
      const towardsNewer = cursor !== null && 'newer' in cursor;
      const more = fetched.length > this.pageSize;
      const rows = !more ? fetched : towardsNewer ? fetched.slice(1) : fetched.slice(0, this.pageSize);
      const page: AuditPage = { eventId: event.eventId, filter, rows, pageSize: this.pageSize };
      if (rows.length > 0) {
        const hasOlder = towardsNewer || more;
        const hasNewer = towardsNewer ? more : cursor !== null;
        if (hasOlder) page.older = encodePageToken({ filter, cursor: { older: rows[rows.length - 1]!.seq }, purpose });
        if (hasNewer) page.newer = encodePageToken({ filter, cursor: { newer: rows[0]!.seq }, purpose });
        page.exportQuery = encodePageToken({ filter, cursor: null, purpose: undefined });
      }
      return page;
    });
  }

  private async resolve(parsed: ParsedAuditFilter, asker: AuditAsker): Promise<AuditFilter> {
    const { actor, ...rest } = parsed;
    if (!actor) return { ...rest };
    const employee = await this.person(actor, asker.platform);
    if (!employee) throw auditQueryInvalid('unknown_person');
    return { ...rest, actorId: employee.employeeId };
  }

  private async person(ref: PersonRef, platform: ChatPlatform): Promise<Employee | null> {
    switch (ref.kind) {
      case 'employeeId': return this.deps.directory.byId(ref.employeeId);
      case 'email': return this.deps.directory.byEmail(ref.email);
      case 'mention': {
        // The asker's own platform first (a mention typed there is most likely one of its users), then registry order.
        const ordered = [...ref.candidates.filter((c) => c.platform === platform), ...ref.candidates.filter((c) => c.platform !== platform)];
        for (const c of ordered) {
          const e = await this.deps.directory.byChatId(c.platform, c.chatUserId);
          if (e) return e;
        }
        return null;
      }
    }
  }

  private event(asker: AuditAsker, action: 'audit.query' | 'audit.verify', text: string, purpose: string | undefined): AuditEventInput {
    const now = this.deps.clock.now();
    return {
      v: 1,
      eventId: newEventId(now),
      occurredAt: now.toISOString(),
      actor: { employeeId: asker.employee.employeeId, platform: asker.platform, platformUserId: asker.platformUserId },
      channelKind: asker.channel,
      action,
      customerIds: [],
      fields: [],
      decision: 'allowed',
      ruleIds: [],
      ...(purpose ? { purpose } : {}),
      query: { kind: 'audit', hmac: hmacQuery(this.deps.queryHmacKey, text) },
      ...(asker.correlationId ? { correlationId: asker.correlationId } : {}),
    };
  }
}

/** A short, PII-free summary of the filter for the audit event (ids and codes only). */
export function describeFilter(f: AuditFilter): string {
  const parts: string[] = [];
  if (f.actorId) parts.push(`actor=${f.actorId}`);
  if (f.customerId) parts.push(`customer=${f.customerId}`);
  if (f.actions) parts.push(`action=${f.actions.join(',')}`);
  if (f.decision) parts.push(`decision=${f.decision}`);
  if (f.grantId) parts.push(`grant=${f.grantId}`);
  if (f.channelKind) parts.push(`channel=${f.channelKind}`);
  if (f.from) parts.push(`from=${f.from.toISOString()}`);
  if (f.to) parts.push(`to=${f.to.toISOString()}`);
  return (parts.join(' ') || 'all').slice(0, 200);
}

// ---------------------------------------------------------------------------------------------------
// Page tokens: base64url JSON of the resolved filter, the cursor and the purpose (a button value ≤ 2000).

interface PageState { filter: AuditFilter; cursor: AuditCursor; purpose: string | undefined }

export function encodePageToken(state: PageState): string {
  const f = state.filter;
  const compact = {
    a: f.actorId, c: f.customerId, x: f.actions, d: f.decision, g: f.grantId, k: f.channelKind,
    f: f.from?.getTime(), t: f.to?.getTime(),
    o: state.cursor && 'older' in state.cursor ? state.cursor.older : undefined,
    n: state.cursor && 'newer' in state.cursor ? state.cursor.newer : undefined,
    p: state.purpose,
  };
  return Buffer.from(JSON.stringify(compact)).toString('base64url');
}

export function decodePageToken(token: string): PageState {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw auditQueryInvalid('bad_page');
  }
  const str = (k: string, re: RegExp): string | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !re.test(v)) throw auditQueryInvalid('bad_page');
    return v;
  };
  const num = (k: string): number | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw auditQueryInvalid('bad_page');
    return v;
  };
  const filter: AuditFilter = {};
  const actorId = str('a', /^E-\d{1,10}$/); if (actorId) filter.actorId = actorId;
  const customerId = str('c', /^C-\d{1,12}$/); if (customerId) filter.customerId = customerId;
  if (raw.x !== undefined) {
    if (!Array.isArray(raw.x) || raw.x.some((a) => typeof a !== 'string' || !/^[a-z.]{1,32}$/.test(a))) throw auditQueryInvalid('bad_page');
    filter.actions = raw.x as AuditAction[];
  }
  const decision = str('d', /^(?:allowed|denied|error)$/); if (decision) filter.decision = decision as AuditDecision;
  const grantId = str('g', /^[A-Za-z0-9_.-]{1,64}$/); if (grantId) filter.grantId = grantId;
  const channel = str('k', /^(?:dm|private|public|shared|none)$/); if (channel) filter.channelKind = channel as AuditChannel;
  const from = num('f'); if (from !== undefined) filter.from = new Date(from);
  const to = num('t'); if (to !== undefined) filter.to = new Date(to);
  const older = num('o');
  const newer = num('n');
  const purpose = typeof raw.p === 'string' ? raw.p.slice(0, 200) : undefined;
  const cursor: AuditCursor = older !== undefined ? { older } : newer !== undefined ? { newer } : null;
  return { filter, cursor, purpose };
}
