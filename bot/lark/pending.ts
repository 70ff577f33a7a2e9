// Messages survive the bot that acknowledged them (bot/runtime/pending-answers.ts). Lark takes the
// answer to its HTTP callback (or to the long connection's frame) as delivery and pushes no more, so
// before the handler answers, a user's text message is recorded in Lark's pending-answer ledger,
// sealed (bot/runtime/sealed-answers.ts): the event and message ids, the sender's open_id, the chat and
// its type, the typed text (it may be personal data) and each mention's key and open_id (`audit by @…`
// reads them). Not kept: names, tenant keys or anything else of the payload. The entry is opened ahead
// of the event dedupe: a delivery whose entry exists is a redelivery some bot is answering (alive, or
// dead and about to be finished by another replica); one that opens an entry and is then found to be a
// duplicate (a redelivery after the answer) closes it.
import type { SealedAnswers } from '../runtime/sealed-answers.ts';
import type { AnswerLease } from '../store/answer-ledger.ts';
import { correlationIdOf } from './handlers.ts';

/** The fields of `im.message.receive_v1` the answer reads, in the event's own shape. */
export interface LarkMessageRecord {
  event_id: string;
  sender: { sender_id: { open_id: string }; sender_type: string };
  message: { message_id: string; chat_id: string; chat_type: string; message_type: 'text'; content: string; mentions: { key: string; id: { open_id: string } }[] };
}

export type LarkPendingAnswers = SealedAnswers<LarkMessageRecord>;

/** Records a user's text message before its ack: a lease, 'duplicate', or undefined (not answered / ledger down). */
export async function openMessage(pending: LarkPendingAnswers, data: Record<string, unknown>): Promise<AnswerLease | 'duplicate' | undefined> {
  const record = acceptMessageRecord(data);
  return record ? pending.open(correlationIdOf(record.event_id || record.message.message_id), record) : undefined;
}

/** The record of a message event (or of a claimed entry read back); undefined for anything not answered. */
export function acceptMessageRecord(value: unknown): LarkMessageRecord | undefined {
  const d = obj(value);
  const sender = obj(d.sender);
  const message = obj(d.message);
  const openId = str(obj(sender.sender_id).open_id);
  if (!openId || str(sender.sender_type) === 'app' || message.message_type !== 'text') return undefined;
  const mentions = (Array.isArray(message.mentions) ? message.mentions as unknown[] : []).map((m) => ({ key: str(obj(m).key), id: { open_id: str(obj(obj(m).id).open_id) } }));
  return {
    event_id: str(d.event_id),
    sender: { sender_id: { open_id: openId }, sender_type: str(sender.sender_type) },
    message: {
      message_id: str(message.message_id), chat_id: str(message.chat_id), chat_type: str(message.chat_type), message_type: 'text',
      content: str(message.content), mentions,
    },
  };
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
