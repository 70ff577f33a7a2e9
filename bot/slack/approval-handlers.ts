// Slack listeners of the approval flow: the lookup card's Reveal / Request access buttons and
// `/customer export …` open a modal (views.open); its submission creates the request; approvers'
// Approve / Deny (Deny opens a reason modal) and the requester's Cancel decide it. Decisions, checks and
// texts live in bot/core (approvals/*, views-approval.ts); here Slack payloads are translated only.
// Ack first: buttons ack before any work. A form (view_submission) is answered with its outcome only
// when that is known by the ack deadline's `decideBy` (ack.ts), so a problem can be shown on the form;
// otherwise the form closes at that moment and a problem found later (e.g. "already decided by X at T")
// is told once, in place, as an ephemeral reply on the card the form was opened from (its response_url).
// Every user is identified by the shared identifier, which records identity refusals.
import type { AllMiddlewareArgs, App, SlackCommandMiddlewareArgs, webApi } from '@slack/bolt';
import { parseRequestButton } from '../core/approvals/buttons.ts';
import { ApprovalRefused } from '../core/approvals/errors.ts';
import { isExportCommand, parseExportCommand } from '../core/approvals/segment.ts';
import { askErasure, isEraseCommand } from '../core/approvals/erase-command.ts';
import { isAuditReportCommand, reportRequestTarget } from '../core/audit-report-command.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import { REQUEST_KINDS, type RequestOrigin, type RequestTarget } from '../core/approvals/types.ts';
import { FIELD_GROUP_NAMES, type Employee, type FieldGroup } from '../core/domain.ts';
import { isIdentityRefusal, type ChatIdentifier } from '../core/identity.ts';
import { t, userMessage, type Locale } from '../core/messages.ts';
import type { RefusedInteraction } from '../core/refusals.ts';
import { DEFAULT_TIMEZONE } from '../core/local-time.ts';
import { approvalErrorText, denyFormView, requestFormView, targetText, votedText } from '../core/views-approval.ts';
import { noticeView } from '../core/views.ts';
import type { Logger } from '../logger.ts';
import type { ChannelKind } from '../../policies/types.ts';
import {
  ACTION_ACCESS, ACTION_APPROVE, ACTION_CANCEL, ACTION_DENY, ACTION_REVEAL, INPUT_DURATION, INPUT_GROUPS, INPUT_REASON,
  VIEW_DENY, VIEW_REQUEST, renderDenyForm, renderRequestForm,
} from './approval-blocks.ts';
import { ACTION_AUDIT_EXPORT } from './audit-blocks.ts';
import { answerByDeadline, type AckDeadline } from './ack.ts';
import { renderView } from './blocks.ts';
import { correlationIdOf } from './handlers.ts';
import { slackUser } from './identity.ts';
import { errorSummary } from './receiver.ts';

type WebClient = webApi.WebClient;

export interface SlackApprovalDeps {
  approvals: ApprovalService;
  /** Who clicked or submitted, by the one rule of every handler; records identity refusals. */
  identity: ChatIdentifier;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
}

/** What the modal carries back (private_metadata): the target and where the request came from. */
interface FormMetadata { target: RequestTarget; channel: string; channelKind: ChannelKind; responseUrl?: string }

/** The parts of a slash command the typed requests read. */
type SlashCommand = { user_id: string; channel_id: string; channel_name: string; text: string; trigger_id: string; response_url: string };

/** What the Deny modal carries back: the request, and the card it was opened from (to answer a late outcome there). */
interface DenyMetadata { r: string; u?: string }

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

  // `/customer erase C-000123 reason: REF`: an erasure request for the DPO (bot/core/approvals/erase-command.ts).
  app.use(async (args) => {
    const body = args.body as { command?: string; text?: string };
    if (body.command !== '/customer' || !isEraseCommand(body.text ?? '')) return args.next();
    const { ack, command, respond, client } = args as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs;
    await ack();
    await flow.eraseCommand(client, command, (text, ok) => respond({ response_type: 'ephemeral', ...renderView(noticeView(text, ok ? 'info' : 'refusal')) }).then(() => undefined));
  });

  // `/audit report …`: a report file the DPO approves (an audit export, bot/core/audit-report-command.ts),
  // answered here before the `/audit` query listener sees it.
  app.use(async (args) => {
    const body = args.body as { command?: string; text?: string };
    if (body.command !== '/audit' || !isAuditReportCommand(body.text ?? '')) return args.next();
    const { ack, command, respond, client } = args as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs;
    await ack();
    await flow.reportCommand(client, command, (text) => respond({ response_type: 'ephemeral', ...renderView(noticeView(text, 'refusal')) }).then(() => undefined));
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

  app.view({ callback_id: VIEW_REQUEST, type: 'view_submission' }, async ({ ack, body, view, client, context }) => {
    const values = view.state.values;
    const form: RequestForm = {
      metadata: view.private_metadata,
      reason: values[INPUT_REASON]?.[INPUT_REASON]?.value ?? '',
      duration: values[INPUT_DURATION]?.[INPUT_DURATION]?.value ?? '',
      groups: (values[INPUT_GROUPS]?.[INPUT_GROUPS]?.selected_options ?? []).map((o) => o.value),
    };
    const who = { client, userId: body.user.id, correlationId: (body as { trigger_id?: string }).trigger_id ?? view.id };
    await flow.submitRequest(who, form, deadlineOf(context), (errors) => ack(errors ? { response_action: 'errors', errors } : undefined));
  });

  app.action({ type: 'block_actions', action_id: ACTION_APPROVE }, async ({ ack, body, action, respond, client }) => {
    await ack();
    const value = action.type === 'button' ? action.value ?? '' : '';
    await flow.approve({ client, userId: body.user.id, correlationId: body.trigger_id }, value, (text) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => undefined));
  });

  app.action({ type: 'block_actions', action_id: ACTION_DENY }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const value = action.type === 'button' ? action.value ?? '' : '';
    await flow.openDeny({ client, userId: body.user.id, correlationId: body.trigger_id }, value, body.trigger_id, body.response_url,
      (text) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => undefined));
  });

  app.view({ callback_id: VIEW_DENY, type: 'view_submission' }, async ({ ack, body, view, client, context }) => {
    const reason = view.state.values[INPUT_REASON]?.[INPUT_REASON]?.value ?? '';
    const who = { client, userId: body.user.id, correlationId: (body as { trigger_id?: string }).trigger_id ?? view.id };
    await flow.deny(who, parseDenyMetadata(view.private_metadata), reason, deadlineOf(context), (errors) => ack(errors ? { response_action: 'errors', errors } : undefined));
  });

  app.action({ type: 'block_actions', action_id: ACTION_CANCEL }, async ({ ack, body, action, respond, client }) => {
    await ack();
    const value = action.type === 'button' ? action.value ?? '' : '';
    await flow.cancel({ client, userId: body.user.id, correlationId: body.trigger_id }, value, (text) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => undefined));
  });
}

type Reply = (text: string) => Promise<void>;
type AckErrors = (errors?: Record<string, string>) => Promise<void>;

/** Who sent a payload, and the Web API client to read their profile with. */
interface Who { client: WebClient; userId: string; correlationId: string }

/** A request form as submitted. */
interface RequestForm { metadata: string; reason: string; duration: string; groups: string[] }

/** A form's outcome: nothing to say (done), or the problem and the input it belongs to. */
type FormOutcome = { block: string; text: string } | null;

function deadlineOf(context: Record<string, unknown>): AckDeadline | undefined {
  return context.ackDeadline as AckDeadline | undefined;
}

class ApprovalFlow {
  constructor(private readonly deps: SlackApprovalDeps) {}

  async exportCommand(client: WebClient, userId: string, channelId: string, channelName: string, text: string, triggerId: string, responseUrl: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify({ client, userId, correlationId: triggerId }, 'request');
      locale = employee.locale;
      zone = employee.timezone;
      const { segment, fields } = parseExportCommand(text);
      const channelKind = await channelKindOf(client, channelId, channelName);
      const target: RequestTarget = { kind: 'export', segment, fields };
      const prepared = await this.deps.approvals.prepare(employee, target, channelKind);
      const meta: FormMetadata = { target, channel: channelId, channelKind, responseUrl };
      await client.views.open({ trigger_id: triggerId, view: renderRequestForm(requestFormView(prepared, targetText(target, locale), locale, JSON.stringify(meta))) });
    } catch (err) {
      await reply(await this.errorText(err, locale, zone, { client, userId })).catch(() => undefined);
    }
  }

  async eraseCommand(client: WebClient, command: SlashCommand, reply: (text: string, ok: boolean) => Promise<void>): Promise<void> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify({ client, userId: command.user_id, correlationId: command.trigger_id }, 'request');
      locale = employee.locale;
      zone = employee.timezone;
      const channelKind = await channelKindOf(client, command.channel_id, command.channel_name);
      const origin: RequestOrigin = { platform: 'slack', channel: command.channel_id, channelKind, responseUrl: command.response_url };
      const answer = await askErasure(this.deps.approvals, employee, command.text, origin, this.deps.securityContact, command.user_id);
      await reply(answer.text, answer.ok);
    } catch (err) {
      await reply(await this.errorText(err, locale, zone, { client, userId: command.user_id }), false).catch(() => undefined);
    }
  }

  /** `/audit report …`: the request form for the report, or the usage when the words are not an ask. */
  async reportCommand(client: WebClient, command: SlashCommand, reply: Reply): Promise<void> {
    const asked = reportRequestTarget(command.text);
    if (asked) return this.openRequest(client, command.user_id, command.channel_id, 'audit-export', asked.query, command.trigger_id, command.response_url, reply);
    try {
      const employee = await this.identify({ client, userId: command.user_id, correlationId: command.trigger_id }, 'request');
      await reply(t('approval.report.usage', employee.locale));
    } catch (err) {
      await reply(await this.errorText(err, this.deps.defaultLocale, DEFAULT_TIMEZONE, { client, userId: command.user_id })).catch(() => undefined);
    }
  }

  async openRequest(client: WebClient, userId: string, channelId: string, kind: 'reveal' | 'access' | 'audit-export', value: string, triggerId: string, responseUrl: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify({ client, userId, correlationId: triggerId }, 'request');
      locale = employee.locale;
      zone = employee.timezone;
      const asked: RequestTarget = kind === 'audit-export' ? { kind, query: value } : parseRequestButton(kind, value);
      const channelKind = await channelKindOf(client, channelId, channelId.startsWith('D') ? 'directmessage' : '');
      const prepared = await this.deps.approvals.prepare(employee, asked, channelKind);
      const target = prepared.target; // an audit export's filter as re-encoded by the service
      const meta: FormMetadata = { target, channel: channelId, channelKind, responseUrl };
      const what = targetText(target, locale);
      await client.views.open({ trigger_id: triggerId, view: renderRequestForm(requestFormView(prepared, what, locale, JSON.stringify(meta))) });
    } catch (err) {
      await reply(await this.errorText(err, locale, zone, { client, userId })).catch(() => undefined);
    }
  }

  /** The request form: its problem shown on the form when known in time, else told on the origin card. */
  async submitRequest(who: Who, form: RequestForm, deadline: AckDeadline | undefined, ack: AckErrors): Promise<void> {
    const work = this.submitOutcome(who, form);
    await answerByDeadline(deadline, work, (problem) => ack(problem ? { [problem.block]: problem.text } : undefined), () => ack(),
      async (problem) => { if (problem) await this.tellLate(responseUrlOf(form.metadata), problem.text); });
  }

  private async submitOutcome(who: Who, form: RequestForm): Promise<FormOutcome> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify(who, 'request');
      locale = employee.locale;
      zone = employee.timezone;
      const meta = parseMetadata(form.metadata);
      const durationMinutes = /^\d{1,7}$/.test(form.duration.trim()) ? Number(form.duration.trim()) : Number.NaN;
      const picked = form.groups.filter((g): g is FieldGroup => (FIELD_GROUP_NAMES as string[]).includes(g));
      if (picked.length !== form.groups.length) throw new ApprovalRefused('malformed');
      const origin: RequestOrigin = { platform: 'slack', channel: meta.channel, channelKind: meta.channelKind, ...(meta.responseUrl ? { responseUrl: meta.responseUrl } : {}) };
      const input = { target: meta.target, purpose: form.reason, durationMinutes, ...(picked.length ? { groups: picked } : {}) };
      await this.deps.approvals.submit(employee, input, origin);
      return null;
    } catch (err) {
      const block = err instanceof ApprovalRefused && err.reason === 'duration_invalid' ? INPUT_DURATION : INPUT_REASON;
      return { block, text: await this.errorText(err, locale, zone, who) };
    }
  }

  async approve(who: Who, requestId: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify(who, 'approval', requestId);
      locale = employee.locale;
      zone = employee.timezone;
      const result = await this.deps.approvals.approve(employee, requestId);
      await reply(result.kind === 'voted'
        ? votedText(result, locale)
        : t('approval.done.approved', locale, { id: requestId }));
    } catch (err) {
      await reply(await this.decisionErrorText(err, locale, zone, requestId, who)).catch(() => undefined);
    }
  }

  async openDeny(who: Who, requestId: string, triggerId: string, responseUrl: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify(who, 'approval', requestId);
      locale = employee.locale;
      zone = employee.timezone;
      if (!/^R-[A-P]{10}$/.test(requestId)) throw new ApprovalRefused('malformed');
      const meta: DenyMetadata = { r: requestId, u: responseUrl };
      await who.client.views.open({ trigger_id: triggerId, view: renderDenyForm({ ...denyFormView(requestId, locale), metadata: JSON.stringify(meta) }) });
    } catch (err) {
      await reply(await this.decisionErrorText(err, locale, zone, requestId, who)).catch(() => undefined);
    }
  }

  /** The Deny form: "already decided by X at T" on the form when known in time, else on the approver's card. */
  async deny(who: Who, form: DenyMetadata, reason: string, deadline: AckDeadline | undefined, ack: AckErrors): Promise<void> {
    const work = this.denyOutcome(who, form.r, reason);
    await answerByDeadline(deadline, work, (problem) => ack(problem ? { [INPUT_REASON]: problem } : undefined), () => ack(),
      async (problem) => { if (problem) await this.tellLate(form.u, problem); });
  }

  /** null once denied; otherwise the sentence saying why not. */
  private async denyOutcome(who: Who, requestId: string, reason: string): Promise<string | null> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify(who, 'approval', requestId);
      locale = employee.locale;
      zone = employee.timezone;
      await this.deps.approvals.deny(employee, requestId, reason);
      return null;
    } catch (err) {
      return this.decisionErrorText(err, locale, zone, requestId, who);
    }
  }

  async cancel(who: Who, requestId: string, reply: Reply): Promise<void> {
    let locale = this.deps.defaultLocale;
    let zone = DEFAULT_TIMEZONE;
    try {
      const employee = await this.identify(who, 'approval', requestId);
      locale = employee.locale;
      zone = employee.timezone;
      await this.deps.approvals.cancel(employee, requestId);
      await reply(t('approval.done.cancelled', locale, { id: requestId }));
    } catch (err) {
      await reply(await this.decisionErrorText(err, locale, zone, requestId, who)).catch(() => undefined);
    }
  }

  private identify(who: Who, interaction: RefusedInteraction, requestId?: string): Promise<Employee> {
    return this.deps.identity.identify(slackUser(who.client, who.userId), {
      interaction, correlationId: correlationIdOf(who.correlationId), ...(requestId ? { requestId } : {}),
    });
  }

  /** A form's outcome that arrived after the form closed: one ephemeral reply on the card it came from. */
  private async tellLate(responseUrl: string | undefined, text: string): Promise<void> {
    if (!responseUrl) return this.deps.logger.warn('slack: a late form outcome has no card to be told on');
    const res = await fetch(responseUrl, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    }).catch(() => null);
    if (!res?.ok) this.deps.logger.warn({ status: res?.status }, 'slack: a late form outcome could not be told');
  }

  private async decisionErrorText(err: unknown, locale: Locale, zone: string, requestId: string, who: Pick<Who, 'client' | 'userId'>): Promise<string> {
    const request = /^R-[A-P]{10}$/.test(requestId) ? await this.deps.approvals.deps.requests.get(requestId).catch(() => null) : null;
    const names = request ? await this.deps.approvals.names(request) : new Map<string, string>();
    return approvalErrorText(err, locale, names, this.deps.securityContact, zone) ?? this.errorText(err, locale, zone, who);
  }

  /** The sentence for a refusal; an identity refusal in the user's locale (the employee's, else Slack's). */
  private async errorText(err: unknown, locale: Locale, zone: string, who: Pick<Who, 'client' | 'userId'>): Promise<string> {
    const known = approvalErrorText(err, locale, new Map(), this.deps.securityContact, zone);
    if (known) return known;
    if (isIdentityRefusal(err)) {
      const theirs = await this.deps.identity.localeOf(slackUser(who.client, who.userId), locale);
      return userMessage(err, theirs, { contact: this.deps.securityContact });
    }
    this.deps.logger.error({ err: errorSummary(err) }, 'slack: approval flow failed');
    return userMessage(err, locale, { contact: this.deps.securityContact });
  }
}

/** The Deny modal's metadata; a bare request id is what modals opened before the response_url was carried hold. */
function parseDenyMetadata(text: string): DenyMetadata {
  try {
    const m = JSON.parse(text) as Partial<DenyMetadata> | null;
    if (m && typeof m.r === 'string') return { r: m.r.slice(0, 40), ...(typeof m.u === 'string' ? { u: m.u } : {}) };
  } catch { /* a bare id */ }
  return { r: text.slice(0, 40) };
}

function responseUrlOf(metadata: string): string | undefined {
  try { return parseMetadata(metadata).responseUrl; } catch { return undefined; }
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
