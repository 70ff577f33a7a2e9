// The playground's stand-in for chat DMs: what the approval flow posts to an employee (approval cards,
// one-line messages, revealed fields) waits in their inbox until the page shows it. Card updates reuse
// the card's ref, so the page replaces the earlier copy in place as a chat client would.
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { CustomerField, Employee } from '../core/domain.ts';
import { t } from '../core/messages.ts';
import { noticeView, type View } from '../core/views.ts';
import { when, type ApprovalView } from '../core/views-approval.ts';

export interface InboxItem { ref: string; view: View | ApprovalView }

const MAX_ITEMS = 200; // per employee; the oldest are dropped (a demo, not a mailbox)

export class PlaygroundInbox implements ApprovalNotifier {
  private readonly items = new Map<string, InboxItem[]>();
  private seq = 0;

  /** Everything posted to the employee since the last call. */
  drain(employeeId: string): InboxItem[] {
    const list = this.items.get(employeeId) ?? [];
    this.items.delete(employeeId);
    return list;
  }

  private push(employeeId: string, item: InboxItem): void {
    const list = this.items.get(employeeId) ?? [];
    list.push(item);
    this.items.set(employeeId, list.slice(-MAX_ITEMS));
  }

  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef> {
    const ref: CardRef = { platform: 'playground', channel: 'inbox', ts: `card-${++this.seq}`, employeeId: to.employeeId, role };
    this.push(to.employeeId, { ref: ref.ts, view });
    return ref;
  }

  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> {
    if (ref.platform === 'playground') this.push(ref.employeeId, { ref: ref.ts, view });
  }

  async tell(to: Employee, text: string): Promise<void> {
    this.push(to.employeeId, { ref: `msg-${++this.seq}`, view: noticeView(text) });
  }

  async showReveal(request: AccessRequest, requester: Employee, revealed: { field: CustomerField; value: string; grantId: string; until: Date } | null): Promise<void> {
    const customer = request.customerIds[0] ?? '';
    const l = requester.locale;
    const text = revealed
      ? `${customer} · ${t(`field.${revealed.field}`, l)}: ${revealed.value} (${t('approval.grantFooter', l, { grant: revealed.grantId, until: when(revealed.until) })})`
      : `${customer} · ${t('approval.dm.grantExpired', l, { id: request.requestId, grant: request.grantId ?? '' })}`;
    this.push(requester.employeeId, { ref: `reveal-${request.requestId}`, view: noticeView(text) });
  }
}
