// Slack listeners of the approval flow: the lookup card's Reveal / Request access buttons and
// `/customer export …` open a modal (views.open); its submission creates the request; approvers'
// Approve / Deny (Deny opens a reason modal) and the requester's Cancel decide it. Decisions, checks and
// texts live in bot/core (approvals/*, views-approval.ts); here Slack payloads are translated only.
import type { AllMiddlewareArgs, App, SlackCommandMiddlewareArgs, webApi } from '@slack/bolt';
import { parseRequestButton } from '../core/approvals/buttons.ts';
import { ApprovalRefused } from '../core/approvals/errors.ts';
import { isExportCommand, parseExportCommand } from '../core/approvals/segment.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import { REQUEST_KINDS, type RequestOrigin, type RequestTarget } from '../core/approvals/types.ts';
import { FIELD_GROUP_NAMES, type Employee, type FieldGroup } from '../core/domain.ts';
import { localeFor, resolveEmployee } from '../core/identity.ts';
import { t, userMessage, type Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import { approvalErrorText, denyFormView, requestFormView, targetText, votedText } from '../core/views-approval.ts';
import { noticeView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import type { ChannelKind } from '../../policies/types.ts';
import {
  ACTION_ACCESS, ACTION_APPROVE, ACTION_CANCEL, ACTION_DENY, ACTION_REVEAL, INPUT_DURATION, INPUT_GROUPS, INPUT_REASON,
  VIEW_DENY, VIEW_REQUEST, renderDenyForm, renderRequestForm,
} from './approval-blocks.ts';
import { ACTION_AUDIT_EXPORT } from './audit-blocks.ts';
import { renderView } from './blocks.ts';
import { errorSummary } from './receiver.ts';

type WebClient = webApi.WebClient;

export interface SlackApprovalDeps {
  approvals: ApprovalService;
  directory: EmployeeDirectory;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
}

/** What the modal carries back (private_metadata): the target and where the request came from. */
interface FormMetadata { target: RequestTarget; channel: string; channelKind: ChannelKind; responseUrl?: string }

export function registerSlackApprovalHandlers(app: App, deps: SlackApprovalDeps): void {
  const flow = new ApprovalFlow(deps);

  // `/customer export …` is answered here before the lookup listener sees it (global middleware runs first).
  app.use(async (args) => {
    const body = args.body as { command?: string; text?: string };
    if (body.command !== '/customer' || !isExportCommand(body.text ?? '')) return args.next();
    const { ack, command, respond, client } = args as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs;
    await ack();
    await flow.exportCommand(client, command.user_id, command.channel_id, command.channel_name, command.text, command.trigger_id, command.response_url,
      (text) => respond({ response_type: 'ephemeral', ...renderView(noticeView(text, 'refusal')) }).then(() => undefined));
  });

  for (const [actionId, kind] of [[ACTION_REVEAL, 'reveal'], [ACTION_ACCESS, 'access']] as const) {
    // Card buttons carry `<action>:<index>` ids (unique within the card's actions block).
    app.action({ type: 'block_actions', action_id: new RegExp(`^${actionId}(:\\d+)?$`) }, async ({ ack, body, action, respond, client }) => {
      await ack();
      const channelId = body.channel?.id ?? body.container?.channel_id ?? '';
      const value = action.type === 'button' ? action.value ?? '' : '';
      const reply = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, ...renderView(noticeView(text, 'refusal')) }).then(() => undefined);
      await flow.openRequest(client, body.user.id, channelId, kind, value, body.trigger_id, body.response_url, reply);
    });
  }

  // "Export results" under an `/audit` table: the value is the query's filter token (ids and codes only).
  app.action({ type: 'block_actions', action_id: ACTION_AUDIT_EXPORT }, async ({ ack, body, action, respond, client }) => {
    await ack();
    const channelId = body.channel?.id ?? body.container?.channel_id ?? '';
    const value = action.type === 'button' ? action.value ?? '' : '';
    const reply = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, ...renderView(noticeView(text, 'refusal')) }).then(() => undefined);
    await flow.openRequest(client, body.user.id, channelId, 'audit-export', value, body.trigger_id, body.response_url, reply);
  });

  app.view({ callback_id: VIEW_REQUEST, type: 'view_submission' }, async ({ ack, body, view, client }) => {
    const values = view.state.values;
    const reason = values[INPUT_REASON]?.[INPUT_REASON]?.value ?? '';
    const duration = values[INPUT_DURATION]?.[INPUT_DURATION]?.value ?? '';
    const groups = (values[INPUT_GROUPS]?.[INPUT_GROUPS]?.selected_options ?? []).map((o) => o.value);
    await flow.submitRequest(client, body.user.id, view.private_metadata, reason, duration, groups, (errors) => ack(errors ? { response_action: 'errors', errors } : undefined));
  });

  app.action({ type: 'block_actions', action_id: ACTION_APPROVE }, async ({ ack, body, action, respond }) => {
    await ack();
    const value = action.type === 'button' ? action.value ?? '' : '';
    await flow.approve(body.user.id, value, (text) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => undefined));
  });

  app.action({ type: 'block_actions', action_id: ACTION_DENY }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const value = action.type === 'button' ? action.value ?? '' : '';
    await flow.openDeny(client, body.user.id, value, body.trigger_id, (text) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => undefined));
  });

  app.view({ callback_id: VIEW_DENY, type: 'view_submission' }, async ({ ack, body, view }) => {
    const reason = view.state.values[INPUT_REASON]?.[INPUT_REASON]?.value ?? '';
    await flow.deny(body.user.id, view.private_metadata, reason, (errors) => ack(errors ? { response_action: 'errors', errors } : undefined));
  });

  app.action({ type: 'block_actions', action_id: ACTION_CANCEL }, async ({ ack, body, action, respond }) => {
    await ack();
    const value = action.type === 'button' ? action.value ?? '' : '';
    await flow.cancel(body.user.id, value, (text) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => undefined));
  });
}

type Reply = (text: string) => Promise<void>;
type AckErrors = (errors?: Record<string, string>) => Promise<void>;

class ApprovalFlow {
  constructor(private readonly deps: SlackApprovalDeps) {}

  async exportCommand(client: WebClient, userId: string, channelId: string, channelName: string, text: string, triggerId: string, responseUrl: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(client, userId);
      locale = employee.locale;
      const { segment, fields } = parseExportCommand(text);
      const channelKind = await channelKindOf(client, channelId, channelName);
      const target: RequestTarget = { kind: 'export', segment, fields };
      const prepared = await this.deps.approvals.prepare(employee, target, channelKind);
      const meta: FormMetadata = { target, channel: channelId, channelKind, responseUrl };
      await client.views.open({ trigger_id: triggerId, view: renderRequestForm(requestFormView(prepared, targetText(target, locale), locale, JSON.stringify(meta))) });
    } catch (err) {
      await reply(this.errorText(err, locale)).catch(() => undefined);
    }
  }

  async openRequest(client: WebClient, userId: string, channelId: string, kind: 'reveal' | 'access' | 'audit-export', value: string, triggerId: string, responseUrl: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(client, userId);
      locale = employee.locale;
      const asked: RequestTarget = kind === 'audit-export' ? { kind, query: value } : parseRequestButton(kind, value);
      const channelKind = await channelKindOf(client, channelId, channelId.startsWith('D') ? 'directmessage' : '');
      const prepared = await this.deps.approvals.prepare(employee, asked, channelKind);
      const target = prepared.target; // an audit export's filter as re-encoded by the service
      const meta: FormMetadata = { target, channel: channelId, channelKind, responseUrl };
      const what = targetText(target, locale);
      await client.views.open({ trigger_id: triggerId, view: renderRequestForm(requestFormView(prepared, what, locale, JSON.stringify(meta))) });
    } catch (err) {
      await reply(this.errorText(err, locale)).catch(() => undefined);
    }
  }

  async submitRequest(client: WebClient, userId: string, metadata: string, reason: string, duration: string, groups: string[], ack: AckErrors): Promise<void> {
    let locale = this.deps.defaultLocale;
    let acked = false;
    try {
      const employee = await this.identify(client, userId);
      locale = employee.locale;
      const meta = parseMetadata(metadata);
      const durationMinutes = /^\d{1,7}$/.test(duration.trim()) ? Number(duration.trim()) : Number.NaN;
      const picked = groups.filter((g): g is FieldGroup => (FIELD_GROUP_NAMES as string[]).includes(g));
      if (picked.length !== groups.length) throw new ApprovalRefused('malformed');
      const origin: RequestOrigin = { platform: 'slack', channel: meta.channel, channelKind: meta.channelKind, ...(meta.responseUrl ? { responseUrl: meta.responseUrl } : {}) };
      const input = { target: meta.target, purpose: reason, durationMinutes, ...(picked.length ? { groups: picked } : {}) };
      await this.deps.approvals.submit(employee, input, origin);
      acked = true;
      await ack();
    } catch (err) {
      if (acked) return this.deps.logger.error({ err: errorSummary(err) }, 'slack: approval request failed after ack');
      const block = err instanceof ApprovalRefused && err.reason === 'duration_invalid' ? INPUT_DURATION : INPUT_REASON;
      await ack({ [block]: this.errorText(err, locale) }).catch(() => undefined);
    }
  }

  async approve(userId: string, requestId: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(undefined, userId);
      locale = employee.locale;
      const result = await this.deps.approvals.approve(employee, requestId);
      await reply(result.kind === 'voted'
        ? votedText(result, locale)
        : t('approval.done.approved', locale, { id: requestId }));
    } catch (err) {
      await reply(await this.decisionErrorText(err, locale, requestId)).catch(() => undefined);
    }
  }

  async openDeny(client: WebClient, userId: string, requestId: string, triggerId: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(client, userId);
      locale = employee.locale;
      if (!/^R-[A-P]{10}$/.test(requestId)) throw new ApprovalRefused('malformed');
      await client.views.open({ trigger_id: triggerId, view: renderDenyForm(denyFormView(requestId, locale)) });
    } catch (err) {
      await reply(await this.decisionErrorText(err, locale, requestId)).catch(() => undefined);
    }
  }

  async deny(userId: string, requestId: string, reason: string, ack: AckErrors): Promise<void> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(undefined, userId);
      locale = employee.locale;
      await this.deps.approvals.deny(employee, requestId, reason);
      await ack();
    } catch (err) {
      await ack({ [INPUT_REASON]: await this.decisionErrorText(err, locale, requestId) }).catch(() => undefined);
    }
  }

  async cancel(userId: string, requestId: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    try {
      const employee = await this.identify(undefined, userId);
      locale = employee.locale;
      await this.deps.approvals.cancel(employee, requestId);
      await reply(t('approval.done.cancelled', locale, { id: requestId }));
    } catch (err) {
      await reply(await this.decisionErrorText(err, locale, requestId)).catch(() => undefined);
    }
  }

  private async identify(client: WebClient | undefined, userId: string): Promise<Employee> {
    return resolveEmployee(this.deps.directory, 'slack', userId, async () => {
      if (!client) return {};
      const r = await client.users.info({ user: userId });
      return { ...(r.user?.profile?.email ? { email: r.user.profile.email } : {}), ...(r.user?.locale ? { locale: r.user.locale } : {}) };
    });
  }

  private async decisionErrorText(err: unknown, locale: Locale, requestId: string): Promise<string> {
    const request = /^R-[A-P]{10}$/.test(requestId) ? await this.deps.approvals.deps.requests.get(requestId).catch(() => null) : null;
    const names = request ? await this.deps.approvals.names(request) : new Map<string, string>();
    return approvalErrorText(err, locale, names, this.deps.securityContact) ?? this.errorText(err, locale);
  }

  private errorText(err: unknown, locale: Locale): string {
    const known = approvalErrorText(err, locale, new Map(), this.deps.securityContact);
    if (known) return known;
    this.deps.logger.error({ err: errorSummary(err) }, 'slack: approval flow failed');
    return userMessage(err, localeFor(null, locale, this.deps.defaultLocale), { contact: this.deps.securityContact });
  }
}

function parseMetadata(text: string): FormMetadata {
  try {
    const m = JSON.parse(text) as FormMetadata;
    if (!m || typeof m.channel !== 'string' || !m.target || !(REQUEST_KINDS as readonly string[]).includes(m.target.kind)) throw new Error('shape');
    if (!['dm', 'private', 'public', 'shared'].includes(m.channelKind)) throw new Error('shape');
    return m;
  } catch {
    throw new ApprovalRefused('malformed');
  }
}

async function channelKindOf(client: WebClient, channelId: string, hint: string): Promise<ChannelKind> {
  try {
    const c = (await client.conversations.info({ channel: channelId })).channel;
    return c?.is_im ? 'dm' : c?.is_ext_shared ? 'shared' : c?.is_private ? 'private' : 'public';
  } catch {
    return hint === 'directmessage' ? 'dm' : 'shared';
  }
}
