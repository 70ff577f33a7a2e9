// `/audit` and its paging buttons. The Slack side only identifies the user, works out the channel kind,
// and renders; parsing, authorisation, auditing and reading live in bot/core (audit-query*.ts), so the
// Lark text command `audit …` renders the same views.
import type { App, webApi } from '@slack/bolt';
import { auditQueryView } from '../core/audit-query-run.ts';
import type { AuditAsker, AuditQueryService } from '../core/audit-query-service.ts';
import { auditErrorView, type AuditView } from '../core/audit-query-views.ts';
import type { ChatIdentifier } from '../core/identity.ts';
import type { Locale } from '../core/messages.ts';
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import { commandTimer, type CommandObserver } from '../metrics.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { ACTION_AUDIT_NEWER, ACTION_AUDIT_OLDER, renderAuditView } from './audit-blocks.ts';
import type { SlackMessage } from './blocks.ts';
import { correlationIdOf } from './handlers.ts';
import { slackUser } from './identity.ts';
import { errorSummary } from './receiver.ts';

type WebClient = webApi.WebClient;

export interface SlackAuditDeps {
  audit: AuditQueryService;
  /** Who is asking, by the one rule of every handler; records identity refusals. */
  identity: ChatIdentifier;
  clock: Clock;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  metrics?: CommandObserver;
}

interface AuditTurn { client: WebClient; userId: string; channelId: string; channelHint?: string; correlationId: string; reply: (m: SlackMessage) => Promise<unknown> }

export function registerSlackAuditHandlers(app: App, deps: SlackAuditDeps): void {
  app.command('/audit', async ({ ack, command, respond, client }) => {
    await ack();
    await runAudit(deps, command.text, {
      client, userId: command.user_id, channelId: command.channel_id, channelHint: command.channel_name, correlationId: command.trigger_id,
      reply: (m) => respond({ response_type: 'ephemeral', ...m }),
    });
  });
  for (const actionId of [ACTION_AUDIT_OLDER, ACTION_AUDIT_NEWER]) {
    app.action({ type: 'block_actions', action_id: actionId }, async ({ ack, body, action, respond, client }) => {
      await ack();
      const channelId = body.channel?.id ?? body.container?.channel_id;
      if (!channelId || action.type !== 'button' || !action.value) return;
      await runAudit(deps, null, {
        client, userId: body.user.id, channelId, correlationId: body.trigger_id,
        reply: (m) => respond({ response_type: 'ephemeral', replace_original: true, ...m }),
      }, action.value);
    });
  }
}

/** One `/audit` request (text) or page turn (token). */
async function runAudit(deps: SlackAuditDeps, text: string | null, turn: AuditTurn, token?: string): Promise<void> {
  const done = commandTimer(deps.metrics, 'slack');
  let locale = deps.defaultLocale;
  let view: AuditView;
  try {
    const employee = await deps.identity.identify(slackUser(turn.client, turn.userId), { interaction: 'audit', correlationId: correlationIdOf(turn.correlationId) });
    locale = employee.locale;
    const asker: AuditAsker = { employee, platform: 'slack', platformUserId: turn.userId, channel: await channelKind(turn), correlationId: correlationIdOf(turn.correlationId) };
    view = await auditQueryView(deps.audit, asker, token !== undefined ? { token } : { text: text ?? '' }, deps.clock.now());
  } catch (err) {
    view = auditErrorView(err, locale, deps.securityContact);
    if (view.kind === 'notice' && view.tone === 'error') deps.logger.error({ err: errorSummary(err) }, 'slack: audit query failed');
  }
  await turn.reply(renderAuditView(view)).catch((e: unknown) => deps.logger.error({ err: errorSummary(e) }, 'slack: could not send the audit reply'));
  done('audit');
}

async function channelKind(turn: AuditTurn): Promise<ChannelKind> {
  if (turn.channelHint === 'directmessage' || turn.channelId.startsWith('D')) return 'dm';
  try {
    const c = (await turn.client.conversations.info({ channel: turn.channelId })).channel;
    return c?.is_im ? 'dm' : c?.is_ext_shared ? 'shared' : c?.is_private ? 'private' : 'public';
  } catch {
    return 'shared'; // cannot see it: assume the strictest kind
  }
}
