// The approval flow's chat I/O on Lark (the ApprovalNotifier port): cards sent to people by open_id
// (the bot's DM with them), every copy updated in place with im.message.patch, and the requester's
// lookup card patched to show a revealed field (re-masked at expiry). A card Lark will not update any
// more (230054, 220340, …) is replaced by a new message, so the reader still sees the outcome.
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import { revealCardView, type Revealed } from '../core/approvals/reveal-view.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import { noticeView } from '../core/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import type { Logger } from '../logger.ts';
import { LarkApiError, type LarkApi } from './api.ts';
import { renderApproval } from './approval-cards.ts';
import { renderView, type LarkCard } from './cards.ts';

export class LarkApprovalNotifier implements ApprovalNotifier {
  constructor(private readonly api: LarkApi, private readonly logger: Logger, private readonly lookup?: LookupService) {}

  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null> {
    const openId = to.chat.lark;
    if (!openId) return null;
    // The uuid makes a retried post (same request, person and role) a no-op on Lark's side.
    const messageId = await this.api.sendCard('open_id', openId, renderApproval(view), `ap-${view.requestId}-${to.employeeId}-${role}`);
    return messageId ? { platform: 'lark', channel: openId, ts: messageId, employeeId: to.employeeId, role } : null;
  }

  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> {
    if (ref.platform !== 'lark') return;
    await this.patchOrSend(ref.ts, ref.channel, renderApproval(view));
  }

  async tell(to: Employee, text: string): Promise<void> {
    if (to.chat.lark) await this.api.sendCard('open_id', to.chat.lark, renderView(noticeView(text)));
  }

  /** `origin.channel` is the lookup card's message id on Lark (the card lives in the requester's DM). */
  async showReveal(request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<void> {
    const messageId = request.origin?.platform === 'lark' ? request.origin.channel : '';
    const openId = requester.chat.lark;
    if (!messageId || !openId) return;
    const view = await revealCardView(this.lookup, 'lark', request, requester, revealed);
    if (view) await this.patchOrSend(messageId, openId, renderView(view));
  }

  private async patchOrSend(messageId: string, openId: string, card: LarkCard): Promise<void> {
    try {
      if ((await this.api.patchOrResend(messageId, openId, card)) === 'resent') this.logger.info('lark: approval card not updatable; sent it as a new message');
    } catch (err) {
      this.logger.warn({ code: err instanceof LarkApiError ? err.code : -1 }, 'lark: could not update an approval card');
    }
  }
}
