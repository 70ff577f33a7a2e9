// The approval flow's chat I/O on Slack: cards into DMs (conversations.open + chat.postMessage), every
// copy updated in place (chat.update), one-line DMs, and the requester-only reveal on the ephemeral
// lookup card through its response_url (replace_original), re-masked the same way at expiry.
import type { webApi } from '@slack/bolt';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { CustomerField, Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import { t } from '../core/messages.ts';
import { lookupResultView, noticeView, type View } from '../core/views.ts';
import { when, type ApprovalView } from '../core/views-approval.ts';
import type { Logger } from '../logger.ts';
import { renderApproval } from './approval-blocks.ts';
import { renderView } from './blocks.ts';
import { errorSummary } from './receiver.ts';

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

  async showReveal(request: AccessRequest, requester: Employee, revealed: { field: CustomerField; value: string; grantId: string; until: Date } | null): Promise<void> {
    const url = request.origin?.responseUrl;
    const customerId = request.customerIds[0];
    if (!url || !customerId) return;
    let view = await this.freshCard(request, requester, customerId);
    if (revealed) view = withRevealed(view, revealed, requester.locale);
    const res = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: true, ...renderView(view) }),
    });
    if (!res.ok) this.logger.warn({ status: res.status }, 'slack: the reveal could not update the original card');
  }

  /** The requester's own card as a new lookup would show it (itself audited); a notice if refused. */
  private async freshCard(request: AccessRequest, requester: Employee, customerId: string): Promise<View> {
    if (this.lookup && requester.chat.slack) {
      try {
        const result = await this.lookup.lookup(
          { employee: requester, platform: 'slack', platformUserId: requester.chat.slack, channel: request.origin?.channelKind ?? 'dm' },
          { kind: 'id', value: customerId }, undefined,
        );
        return lookupResultView(result, requester.locale);
      } catch {
        // e.g. a purpose is required for lookups: show the revealed field alone
      }
    }
    return { kind: 'card', customerId, title: customerId, groups: [], footer: '' };
  }
}

/** The card with the revealed field's value in place (and a line saying under which grant, until when). */
export function withRevealed(view: View, revealed: { field: CustomerField; value: string; grantId: string; until: Date }, locale: Employee['locale']): View {
  if (view.kind !== 'card') return view;
  const label = t('approval.revealed', locale, { field: t(`field.${revealed.field}`, locale), grant: revealed.grantId, until: when(revealed.until) });
  let placed = false;
  const groups = view.groups.map((g) => ({
    ...g,
    fields: g.fields.map((f) => {
      if (f.field !== revealed.field) return f;
      placed = true;
      return { ...f, label, value: revealed.value, masked: false };
    }),
  }));
  if (!placed) groups.push({ group: 'profile', label: label, fields: [{ field: revealed.field, label, value: revealed.value, masked: false }] });
  return { ...view, groups };
}
