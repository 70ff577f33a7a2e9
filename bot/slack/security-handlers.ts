// Slack side of security operations: the alert card posted to the security channel
// (CUSTOS_SECURITY_CHANNEL) with Unfreeze / Keep frozen / Revoke all grants, the clicks on it (the
// clicker re-authorised by the core at click time), and `user_change` with `deleted: true`, which
// offboards the employee at once.
import type { App, types, webApi } from '@slack/bolt';
import type { ChatIdentifier } from '../core/identity.ts';
import { userMessage, type Locale } from '../core/messages.ts';
import type { OffboardingService } from '../core/offboarding.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { AdminDecision, AnomalyAlert, SecurityAlerts, SecurityService } from '../core/security/guard.ts';
import type { NoticeView, SecurityNotices } from '../core/security/notices.ts';
import { alertView, outcomeLine } from '../core/security/views.ts';
import type { Logger } from '../logger.ts';
import { escapeMrkdwn } from './blocks.ts';
import { correlationIdOf } from './handlers.ts';
import { slackUser } from './identity.ts';
import { errorSummary } from './receiver.ts';

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
  security: SecurityService;
  offboarding: OffboardingService;
  alerts: SlackSecurityAlerts;
  directory: EmployeeDirectory;
  /** Who clicked, by the one rule of every handler (an admin never seen before is matched by e-mail). */
  identity: ChatIdentifier;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
}

export function registerSlackSecurityHandlers(app: App, deps: SlackSecurityDeps): void {
  deps.alerts.attach(app.client);
  for (const [decision, actionId] of Object.entries(ACTION_SECURITY) as [AdminDecision, string][]) {
    app.action({ type: 'block_actions', action_id: actionId }, async ({ ack, body, action, respond, client }) => {
      await ack();
      if (action.type !== 'button' || !/^E-\d{1,10}$/.test(action.value ?? '')) return;
      const user = slackUser(client, body.user.id);
      try {
        const who = await deps.identity.attempt(user, { interaction: 'security', correlationId: correlationIdOf(body.trigger_id) }, deps.defaultLocale);
        if (!who.ok) {
          // Unknown, frozen or offboarded: refused (and recorded by the identifier) before the service decides.
          await respond({ response_type: 'ephemeral', replace_original: false, text: userMessage(who.refusal, who.locale, { contact: deps.securityContact }) });
          return;
        }
        const clicker = who.employee;
        const locale = clicker.locale;
        const outcome = await deps.security.decide(clicker, 'slack', body.user.id, decision, action.value!);
        const line = outcomeLine(outcome, `${clicker.name} (${clicker.employeeId})`, locale);
        if (outcome.kind !== 'done') {
          await respond({ response_type: 'ephemeral', replace_original: false, text: line });
          return;
        }
        // The card in the channel is updated in place: the outcome replaces the buttons.
        const original = ((body as { message?: { blocks?: KnownBlock[] } }).message?.blocks ?? []).filter((b) => b.type !== 'actions');
        await respond({ replace_original: true, text: line, blocks: [...original, { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(line) }] }] });
      } catch (err) {
        deps.logger.error({ err: errorSummary(err) }, 'slack: security action failed');
      }
    });
  }
  app.event('user_change', async ({ event }) => {
    const user = event.user as { id?: string; deleted?: boolean };
    if (!user.deleted || !user.id) return;
    const employee = await deps.directory.byChatId('slack', user.id);
    if (!employee) return;
    const result = await deps.offboarding.offboard(employee.employeeId, 'slack', user.id);
    deps.logger.info({ employeeId: employee.employeeId, grants: result.grants, requests: result.requests }, 'slack: user deleted; offboarded');
  });
}
