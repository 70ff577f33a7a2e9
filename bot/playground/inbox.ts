// The playground's stand-in for chat DMs: what the approval flow and the export worker post to an
// employee (approval cards, one-line messages, revealed fields, export files) is kept in the store
// (`playground_inbox`), so a reload or a restart shows it again, as a chat client shows its history.
// Card updates reuse the card's ref: the page replaces the earlier copy in place, at its first position.
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { CustomerField, Employee } from '../core/domain.ts';
import { t } from '../core/messages.ts';
import { noticeView, type View } from '../core/views.ts';
import { when, type ApprovalView } from '../core/views-approval.ts';
import { revealCardView } from '../core/approvals/reveal-view.ts';
import type { LookupService } from '../core/lookup.ts';
import { escapeHtml, renderViewHtml } from './html.ts';
import './messages.ts';

/** One message as the page shows it: rendered HTML, and for approval cards their request and state. */
export interface InboxItem { ref: string; kind: string; html: string; seq: number; requestId?: string; state?: string }

interface InboxDoc extends InboxItem { _id: string; employeeId: string; at: Date }

const COLLECTION = 'playground_inbox';
const HISTORY = 300; // messages per employee a page shows on (re)load: a demo, not a mailbox

/** A ref no other process or restart will produce again (refs are kept in the store). */
export function newRef(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('base64url')}`;
}

export class PlaygroundInbox implements ApprovalNotifier {
  private last = 0;

  /** The requester's card after a reveal is a new lookup of the customer (audited), as on Slack and Lark. */
  private lookup: LookupService | undefined;

  constructor(private readonly conn: Connection) {}

  /** The lookup service reveals are shown with (set once it exists: it is built around the inbox's alerts). */
  revealWith(lookup: LookupService): void { this.lookup = lookup; }

  private get docs() { return this.conn.collection<InboxDoc>(COLLECTION); }

  async ensureIndexes(): Promise<void> {
    await this.docs.createIndex({ employeeId: 1, seq: 1 });
  }

  /**
   * Messages changed after `after` (a seq the page has seen; 0 on load), one per ref with its latest
   * content, in the order they were first posted.
   */
  async since(employeeId: string, after: number): Promise<InboxItem[]> {
    const docs = (await this.docs.find({ employeeId }).sort({ seq: -1 }).limit(HISTORY * 2).toArray()).reverse();
    const byRef = new Map<string, { first: number; latest: InboxDoc }>();
    for (const d of docs) byRef.set(d.ref, { first: byRef.get(d.ref)?.first ?? d.seq, latest: d });
    return [...byRef.values()].filter((v) => v.latest.seq > after).sort((a, b) => a.first - b.first).slice(-HISTORY)
      .map(({ latest: d }) => ({ ref: d.ref, kind: d.kind, html: d.html, seq: d.seq, ...(d.requestId ? { requestId: d.requestId, state: d.state! } : {}) }));
  }

  /** The approval cards in the employee's inbox whose latest copy is still pending (the `pending` command). */
  async pendingCards(employeeId: string): Promise<InboxItem[]> {
    return (await this.since(employeeId, 0)).filter((i) => i.kind === 'approval' && i.state === 'pending');
  }

  /** In every inbox: the items of `kind` about `key` (their request slot) whose latest copy is still open (a security alert). */
  async openItems(kind: string, key: string): Promise<{ employeeId: string; ref: string }[]> {
    const docs = await this.docs.find({ kind, requestId: key }).sort({ seq: 1 }).toArray();
    const latest = new Map<string, InboxDoc>();
    for (const d of docs) latest.set(`${d.employeeId}\u0000${d.ref}`, d);
    return [...latest.values()].filter((d) => d.state === 'open').map((d) => ({ employeeId: d.employeeId, ref: d.ref }));
  }

  /** Posts a message; `extra` carries an approval card's request id and state. */
  async push(employeeId: string, ref: string, view: { kind: string; html: string }, extra: { requestId?: string; state?: string } = {}): Promise<void> {
    // Increasing within this process and across restarts (wall time, not the demo clock).
    const seq = this.last = Math.max(this.last + 1, Date.now() * 1000);
    await this.docs.insertOne({ _id: `${employeeId}:${seq}`, employeeId, ref, kind: view.kind, html: view.html, seq, at: new Date(), ...extra });
  }

  private pushView(employeeId: string, ref: string, view: View | ApprovalView): Promise<void> {
    const extra = view.kind === 'approval' ? { requestId: view.requestId, state: view.status.state } : {};
    return this.push(employeeId, ref, { kind: view.kind, html: renderViewHtml(view) }, extra);
  }

  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef> {
    const ref: CardRef = { platform: 'playground', channel: 'inbox', ts: newRef('card'), employeeId: to.employeeId, role };
    await this.pushView(to.employeeId, ref.ts, view);
    return ref;
  }

  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> {
    if (ref.platform === 'playground') await this.pushView(ref.employeeId, ref.ts, view);
  }

  async tell(to: Employee, text: string): Promise<void> {
    await this.pushView(to.employeeId, newRef('msg'), noticeView(text));
  }

  /**
   * A one-time reveal, as Slack and Lark show it: the requester's card of the customer as a new lookup
   * shows it (a lookup of its own, audited like theirs), the value in place under its grant; at expiry the
   * same card masked again. The item (one ref per request: the re-masked card replaces the revealed one)
   * starts with a line naming customer, field and grant and carries the value, field and note, so the
   * page also puts the value in place on the card the requester is looking at (and masks it again).
   */
  async showReveal(request: AccessRequest, requester: Employee, revealed: { field: CustomerField; value: string; grantId: string; until: Date } | null): Promise<void> {
    const customer = request.customerIds[0] ?? '';
    const l = requester.locale;
    // The playground's user id is the employee id the page picked (the conversation layer's `picked` identity).
    const card = await revealCardView(this.lookup, 'playground', request, { ...requester, chat: { ...requester.chat, playground: requester.employeeId } }, revealed);
    const text = revealed
      ? `${customer} · ${t(`field.${revealed.field}`, l)}: ${revealed.value} (${t('approval.grantFooter', l, { grant: revealed.grantId, until: when(revealed.until, requester.timezone) })})`
      : `${customer} · ${t('approval.dm.grantExpired', l, { id: request.requestId, grant: request.grantId ?? '' })}`;
    const field = revealed?.field ?? request.fields[0] ?? '';
    const inPlace = revealed
      ? ` data-reveal-value="${escapeHtml(revealed.value)}" data-reveal-note="${escapeHtml(t('approval.revealed', l, { field: t(`field.${revealed.field}`, l), grant: revealed.grantId, until: when(revealed.until, requester.timezone) }))}"`
      : ` data-reveal-note="${escapeHtml(t('playground.revealExpired', l))}"`;
    const line = renderViewHtml(noticeView(text)).replace('<p ', `<p data-reveal-customer="${escapeHtml(customer)}" data-reveal-field="${escapeHtml(field)}" data-revealed="${revealed ? 'yes' : 'expired'}"${inPlace} `);
    await this.push(requester.employeeId, `reveal-${request.requestId}`, { kind: 'reveal', html: line + (card ? renderViewHtml(card) : '') });
  }
}
