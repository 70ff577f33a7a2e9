// Slack side of security operations: the alert card posted to the security channel
// (CUSTOS_SECURITY_CHANNEL) with Unfreeze / Keep frozen / Revoke all grants (their clicks go through the
// conversation layer, which re-authorises the clicker at click time), and `user_change` with
// `deleted: true`, which offboards the employee at once.
import type { App, types, webApi } from '@slack/bolt';
import type { Locale } from '../core/messages.ts';
import type { OffboardingService } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { AnomalyAlert, SecurityAlerts } from '../core/security/guard.ts';
import type { NoticeView, SecurityNotices } from '../core/security/notices.ts';
import { alertView } from '../core/security/views.ts';
import type { Logger } from '../logger.ts';
import { escapeMrkdwn } from './blocks.ts';
import { offboardChatUser } from '../runtime/chat-offboarding.ts';

export const ACTION_SECURITY = { unfreeze: 'security_unfreeze', keep: 'security_keep', revoke: 'security_revoke' } as const;

type KnownBlock = types.KnownBlock;

/** A notice without buttons (bot/core/security/notices.ts) to the security channel. */
export async function postSlackSecurityNotice(client: webApi.WebClient, channel: string, view: NoticeView): Promise<void> {
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: view.title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: view.lines.map(escapeMrkdwn).join('\n') } },
  ];
  await client.chat.postMessage({ channel, text: view.title, blocks });
}

/** Posts alert cards and notices; the Web API client is attached once the Bolt app exists. */
export class SlackSecurityAlerts implements SecurityAlerts, SecurityNotices {
  private client: webApi.WebClient | undefined;

  constructor(private readonly deps: { channel: string | undefined; directory: EmployeeDirectory; locale: Locale; logger: Logger }) {}

  attach(client: webApi.WebClient): void { this.client = client; }

  async alert(alert: AnomalyAlert): Promise<void> {
    // Logged before delivery by the shared security service (bot/runtime/security.ts).
    if (!this.client || !this.deps.channel) return;
    const employee = await this.deps.directory.byId(alert.employeeId);
    const view = alertView(alert, employee?.name ?? alert.employeeId, this.deps.locale);
    const blocks: KnownBlock[] = [
      { type: 'header', text: { type: 'plain_text', text: view.title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: view.lines.map(escapeMrkdwn).join('\n') } },
      {
        type: 'actions', block_id: 'security_actions',
        elements: view.buttons.map((b) => ({ type: 'button' as const, action_id: ACTION_SECURITY[b.decision], text: { type: 'plain_text' as const, text: b.label }, value: view.employeeId, ...(b.decision === 'unfreeze' ? { style: 'primary' as const } : b.decision === 'revoke' ? { style: 'danger' as const } : {}) })),
      },
    ];
    await this.client.chat.postMessage({ channel: this.deps.channel, text: view.title, blocks });
  }

  async notice(view: NoticeView): Promise<void> {
    if (this.client && this.deps.channel) await postSlackSecurityNotice(this.client, this.deps.channel, view);
  }
}

export interface SlackSecurityDeps {
  offboarding: OffboardingService;
  alerts: SlackSecurityAlerts;
  directory: EmployeeDirectory;
  logger: Logger;
}

/** The alert cards' client, and `user_change` with `deleted: true` (the clicks go through the conversation layer). */
export function registerSlackSecurityHandlers(app: App, deps: SlackSecurityDeps): void {
  deps.alerts.attach(app.client);
  app.event('user_change', async ({ event }) => {
    const user = event.user as { id?: string; deleted?: boolean };
    if (user.deleted && user.id) await offboardChatUser(deps, 'slack', user.id);
  });
}
