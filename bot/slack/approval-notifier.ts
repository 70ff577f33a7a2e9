// The approval flow's chat I/O on Slack: cards into DMs (conversations.open + chat.postMessage), every
// copy updated in place (chat.update), one-line DMs, and the requester-only reveal on the ephemeral
// lookup card through its response_url (replace_original), re-masked the same way at expiry; when that URL
// is spent, a new ephemeral card to the requester in the channel the reveal was asked from.
import type { webApi } from '@slack/bolt';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import { noticeView } from '../core/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import { revealCardView, type Revealed } from '../core/approvals/reveal-view.ts';
import type { Logger } from '../logger.ts';
import { renderApproval } from './approval-blocks.ts';
import { renderView } from './blocks.ts';
import { errorSummary } from './receiver.ts';
import { postToResponseUrl } from './response-url.ts';

type WebClient = webApi.WebClient;

export class SlackApprovalNotifier implements ApprovalNotifier {
  constructor(private readonly client: WebClient, private readonly logger: Logger, private readonly lookup?: LookupService) {}

  private async dmOf(e: Employee): Promise<string | null> {
    const user = e.chat.slack;
    if (!user) return null;
    const res = await this.client.conversations.open({ users: user });
    return res.channel?.id ?? null;
  }

  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null> {
    const channel = await this.dmOf(to);
    if (!channel) return null;
    const res = await this.client.chat.postMessage({ channel, ...renderApproval(view) });
    if (!res.ts) return null;
    return { platform: 'slack', channel: res.channel ?? channel, ts: res.ts, employeeId: to.employeeId, role };
  }

  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> {
    if (ref.platform !== 'slack') return;
    try {
      await this.client.chat.update({ channel: ref.channel, ts: ref.ts, ...renderApproval(view) });
    } catch (err) {
      this.logger.warn({ err: errorSummary(err) }, 'slack: could not update an approval card');
    }
  }

  async tell(to: Employee, text: string): Promise<void> {
    const channel = await this.dmOf(to);
    if (channel) await this.client.chat.postMessage({ channel, ...renderView(noticeView(text)) });
  }

  /**
   * The reveal replaces the requester's ephemeral card through its response_url. Slack accepts a
   * response_url for 30 minutes and 5 posts, and an approval often takes longer: then the card comes as a
   * new ephemeral message to the requester in the channel it was asked from (chat.postEphemeral — still
   * seen by the requester only, and not kept in the channel's history). Re-masking at expiry needs no
   * fallback: an ephemeral message does not outlive the requester's session.
   */
  async showReveal(request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<void> {
    const url = request.origin?.responseUrl;
    const channel = request.origin?.platform === 'slack' ? request.origin.channel : '';
    const user = requester.chat.slack;
    if (!url && !(revealed && channel && user)) return;
    const view = await revealCardView(this.lookup, 'slack', request, requester, revealed);
    if (!view) return;
    if (url) {
      try {
        return await postToResponseUrl(url, { response_type: 'ephemeral', replace_original: true, ...renderView(view) });
      } catch (err) {
        this.logger.warn({ err: errorSummary(err) }, 'slack: the reveal could not update the original card');
      }
    }
    if (!revealed || !channel || !user) return;
    try {
      await this.client.chat.postEphemeral({ channel, user, ...renderView(view) });
    } catch (err) {
      this.logger.warn({ err: errorSummary(err) }, 'slack: the reveal could not be shown to the requester');
    }
  }
}
