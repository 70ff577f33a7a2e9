// A turn's correlation id (logs, the audit record), derived from the platform's id for the delivery (a
// message, event or trigger id, a click's body): stable, so a redelivery keeps it, short, and never the
// raw id — some are long digit runs, which the audit log's PII guard (rightly) cannot tell from a card
// number, and a click's body is not ours to log.
import { createHash } from 'node:crypto';

/** `<prefix>-` and the first `length` characters of the id's SHA-256 (base64url). */
export function derivedCorrelationId(prefix: string, id: string | Buffer, length = 22): string {
  return `${prefix}-${createHash('sha256').update(id).digest('base64url').slice(0, length)}`;
}
