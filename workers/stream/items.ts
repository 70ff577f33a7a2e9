// The items a sink is given: audit records (the event chain) and signed checkpoints (their own chain,
// positioned by checkpoint number). `seq` / `hash` are the follower's position in the chain concerned.
import type { StreamItem } from '../../bot/core/audit-stream-ports.ts';

export type { StreamItem };

/** When the item happened, for the sink's own timestamp field. */
export function itemTime(item: StreamItem): Date {
  const t = item.kind === 'event' ? item.body.storedAt : item.body.createdAt;
  return new Date(typeof t === 'string' ? t : Date.now());
}

/** A sink failure with what the sink said (no record content: the message ends up in logs). */
export class SinkError extends Error {
  constructor(readonly sink: string, message: string, readonly retryable = true) {
    super(`${sink}: ${message}`);
    this.name = 'SinkError';
  }
}
