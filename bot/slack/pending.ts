// Slash commands survive the bot that acknowledged them (bot/runtime/pending-answers.ts). Before Slack
// gets its 200, the command is recorded in the pending-answer ledger, sealed (AES-256-GCM under the data
// key, bound to the entry's id): the command, user and channel ids, the channel hint, trigger_id and
// response_url (a bearer capability for 30 minutes) and the typed text (it may be personal data). Not
// kept: the payload's user_name, team_domain, the legacy verification token or anything else.
// The entry is opened ahead of the dedupe check (middleware order): a delivery whose entry exists is a
// redelivery of a command some bot took (alive, or dead and about to be finished by another replica),
// and is dropped after its ack; a delivery that opens a fresh entry but is then dropped as a duplicate
// (a retry arriving after its answer) closes the entry it opened.
import type { AnyMiddlewareArgs, Middleware, webApi } from '@slack/bolt';
import type { ReplyGuard } from '../runtime/pending-answers.ts';
import type { SealedAnswers } from '../runtime/sealed-answers.ts';
import type { AnswerLease } from '../store/answer-ledger.ts';
import type { Conversation } from '../conversation/layer.ts';
import { correlationIdOf, runSlackCommand, type SlashCommand } from './handlers.ts';

/** Commands answered through the ledger: both answer by response_url after the ack. */
export const LEDGERED_COMMANDS = new Set(['/customer', '/audit']);

/** Set by the middleware when the ledger has established this is a command's first delivery (dedupe.ts). */
export interface DeliveryChecked { firstDelivery?: true }

/** What the middleware leaves for the command's listener. */
export interface PendingHolder { lease: AnswerLease; taken: boolean }

export type SlackPendingAnswers = SealedAnswers<SlashCommand>;

/** A claimed record read back: a ledgered command, else nothing to answer. */
export function acceptSlashCommand(value: unknown): SlashCommand | undefined {
  const c = value as SlashCommand | null;
  return c && typeof c === 'object' && LEDGERED_COMMANDS.has(c.command) ? c : undefined;
}

/** Finishes a command whose bot died: the same turn, answered through its response_url. */
export function slackResumer(conversation: Conversation, client: webApi.WebClient) {
  return async (command: SlashCommand, guard: ReplyGuard): Promise<void> => {
    await runSlackCommand(conversation, command, client, guard);
  };
}

/** Records a ledgered command before its ack: a lease, 'duplicate', or undefined (not ledgered / ledger down). */
async function openCommand(pending: SlackPendingAnswers, body: Record<string, unknown>): Promise<AnswerLease | 'duplicate' | undefined> {
  const command = slashCommandOf(body);
  return command ? pending.open(correlationIdOf(command.triggerId), command) : undefined;
}

/** Global middleware, before the dedupe one: see the file's head. */
export function pendingMiddleware(pending: SlackPendingAnswers): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const opened = await openCommand(pending, args.body as unknown as Record<string, unknown>);
    if (opened === 'duplicate') {
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      return;
    }
    if (!opened) return args.next();
    const holder: PendingHolder = { lease: opened, taken: false };
    (args.context as { pendingAnswer?: PendingHolder }).pendingAnswer = holder;
    // A confirmed opening is the first delivery: the ledger holds the entry, then its closed mark for
    // longer than a signed request stays fresh, so the dedupe check would ask Redis again for nothing.
    // An unconfirmed one (`unsure`: Redis slow or down) still goes through it.
    if (opened.unsure === undefined) (args.context as DeliveryChecked).firstDelivery = true;
    try {
      await args.next();
    } finally {
      // Dropped further on (a late duplicate, no listener): nothing owes an answer.
      if (!holder.taken) await pending.answers.answer(opened, async () => undefined);
    }
  };
}

/** The fields of a slash command the answer needs; nothing else of the payload. */
function slashCommandOf(body: Record<string, unknown>): SlashCommand | undefined {
  const s = (k: string) => (typeof body[k] === 'string' ? body[k] : undefined);
  const command = s('command');
  const triggerId = s('trigger_id');
  const responseUrl = s('response_url');
  const userId = s('user_id');
  const channelId = s('channel_id');
  if (!command || !LEDGERED_COMMANDS.has(command) || !triggerId || !responseUrl || !userId || !channelId) return undefined;
  return { command, userId, channelId, triggerId, responseUrl, text: s('text') ?? '', ...(s('channel_name') ? { channelName: s('channel_name')! } : {}) };
}
