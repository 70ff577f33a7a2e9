// The two Slack modals, submitted: the request form and the Deny reason form. The layer decides
// (bot/conversation); here a submission becomes a turn, and its outcome is shown on the form when it is
// known by the ack deadline's `decideBy` (ack.ts), with the problem on its input. Otherwise the form
// closes then, and a problem found later (e.g. "already decided by X at T") is told once, in place, as
// an ephemeral reply on the card the form was opened from (its response_url).
import type { App } from '@slack/bolt';
import { decodeFormMetadata } from '../conversation/codec.ts';
import type { Conversation } from '../conversation/layer.ts';
import type { ConversationPort, FormProblem } from '../conversation/types.ts';
import type { Logger } from '../logger.ts';
import { INPUT_DURATION, INPUT_GROUPS, INPUT_REASON, VIEW_DENY, VIEW_REQUEST } from './approval-blocks.ts';
import { answerByDeadline, type AckDeadline } from './ack.ts';
import { slackProfile } from './identity.ts';
import { correlationIdOf } from './handlers.ts';
import { errorSummary } from './receiver.ts';
import { postToResponseUrl } from './response-url.ts';

type AckErrors = (errors?: Record<string, string>) => Promise<unknown>;

export function registerSlackForms(app: App, conversation: Conversation, logger?: Logger): void {
  const late = (responseUrl: string | undefined, text: string) => tellLate(responseUrl, text, logger);
  app.view({ callback_id: VIEW_REQUEST, type: 'view_submission' }, async ({ ack, body, view, client, context }) => {
    const values = view.state.values;
    // As Slack sends them (an empty input is null); the form's schema reads them (codec.ts).
    const inputs = {
      purpose: values[INPUT_REASON]?.[INPUT_REASON]?.value,
      duration: values[INPUT_DURATION]?.[INPUT_DURATION]?.value,
      groups: values[INPUT_GROUPS]?.[INPUT_GROUPS]?.selected_options?.map((o) => o.value),
    };
    const responseUrl = decodeFormMetadata(view.private_metadata)?.responseUrl;
    const submitted = (port: ConversationPort) => conversation.submit(turnOf(body), 'request', view.private_metadata, inputs, port);
    await answer(submitted, client, deadlineOf(context), (errors) => ack(errors ? { response_action: 'errors', errors } : undefined), (text) => late(responseUrl, text));
  });

  app.view({ callback_id: VIEW_DENY, type: 'view_submission' }, async ({ ack, body, view, client, context }) => {
    const reason = view.state.values[INPUT_REASON]?.[INPUT_REASON]?.value;
    const meta = parseDenyMetadata(view.private_metadata);
    await answer((port) => conversation.submit(turnOf(body), 'deny', meta.r, { reason }, port), client, deadlineOf(context), (errors) => ack(errors ? { response_action: 'errors', errors } : undefined), (text) => late(meta.u, text));
  });
}

/** Runs the submission; its problem goes on the form in time, else onto the card it came from. */
async function answer(submit: (port: ConversationPort) => Promise<unknown>, client: ConversationClient, deadline: AckDeadline | undefined, ack: AckErrors, tell: (text: string) => Promise<void>): Promise<void> {
  let problem: FormProblem | null = null;
  const port: ConversationPort = {
    identity: 'chat',
    profile: (userId) => slackProfile(client, userId),
    // A form carries its conversation's kind in its metadata; nothing here asks about one.
    conversationKind: async () => { throw new Error('a form has no conversation'); },
    members: async () => [],
    // Submitted: the modal closes; the approvers' cards and the requester's DM say what happened.
    replyPrivately: async () => undefined,
    replyInConversation: async () => undefined,
    formProblem: async (p) => { problem = p; },
  };
  const work = submit(port).then(() => problem);
  const block = (p: FormProblem) => (p.input === 'duration' ? INPUT_DURATION : INPUT_REASON);
  await answerByDeadline(deadline, work, (p) => ack(p ? { [block(p)]: p.text } : undefined).then(() => undefined), () => ack().then(() => undefined),
    async (p) => { if (p) await tell(p.text); });
}

type ConversationClient = Parameters<typeof slackProfile>[0];

function turnOf(body: { user: { id: string }; trigger_id?: string; view?: { id?: string } }) {
  const slackId = body.trigger_id ?? body.view?.id ?? '';
  return { platform: 'slack' as const, userId: body.user.id, conversationId: '', correlationId: correlationIdOf(slackId) };
}

function deadlineOf(context: Record<string, unknown>): AckDeadline | undefined {
  return context.ackDeadline as AckDeadline | undefined;
}

/** A form's outcome that arrived after the form closed: one ephemeral reply on the card it came from. */
async function tellLate(responseUrl: string | undefined, text: string, logger: Logger | undefined): Promise<void> {
  if (!responseUrl) return logger?.warn('slack: a late form outcome has no card to be told on');
  await postToResponseUrl(responseUrl, { response_type: 'ephemeral', replace_original: false, text })
    .catch((err: unknown) => logger?.warn({ err: errorSummary(err) }, 'slack: a late form outcome could not be told'));
}

/** The Deny modal's metadata; a bare request id is what modals opened before the response_url was carried hold. */
function parseDenyMetadata(text: string): { r: string; u?: string } {
  try {
    const m = JSON.parse(text) as { r?: unknown; u?: unknown } | null;
    if (m && typeof m.r === 'string') return { r: m.r.slice(0, 40), ...(typeof m.u === 'string' ? { u: m.u } : {}) };
  } catch { /* a bare id */ }
  return { r: text.slice(0, 40) };
}
