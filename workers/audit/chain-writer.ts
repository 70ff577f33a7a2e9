// Appends events to the hash chain. Each write: read the tail, drop events already stored (redelivery),
// build the next records (seq, prevHash, hash, mac), insert them in one ordered insert. Any duplicate-key
// error (another writer took the seq, or an event got stored meanwhile) means: re-read and try again.
// Anything else is thrown to the caller, which keeps the jobs and retries later; nothing is acknowledged
// before `write` returns.
import type { AuditEventInput } from '../../bot/core/audit.ts';
import { GENESIS_HASH, chainHash, recordMac, type StoredAuditRecord } from '../../bot/core/audit-event.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { AuditModels } from '../../bot/store/audit-model.ts';
import { appendRecords, isDuplicateKey, readTail, storedEventIds } from '../../bot/store/audit-store.ts';

const MAX_CONFLICT_RETRIES = 50;

export interface WriteResult { stored: number; duplicates: number; lastSeq: number }

export class ChainWriter {
  constructor(
    private readonly models: AuditModels,
    private readonly signingKey: Buffer,
    private readonly clock: Clock,
    private readonly lateMs: number,
  ) {}

  async write(events: AuditEventInput[]): Promise<WriteResult> {
    const unique = dedupe(events);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const tail = await readTail(this.models);
      const already = await storedEventIds(this.models, unique.map((e) => e.eventId));
      const pending = unique.filter((e) => !already.has(e.eventId));
      if (pending.length === 0) return { stored: 0, duplicates: events.length, lastSeq: tail?.seq ?? 0 };
      const records = this.buildRecords(pending, tail);
      const err = await appendRecords(this.models, records);
      if (err === null) {
        return { stored: records.length, duplicates: events.length - records.length, lastSeq: records.at(-1)!.seq };
      }
      if (!isDuplicateKey(err)) throw err;
      // Lost a race for a seq or an eventId: some prefix may be stored; start again from the real tail.
    }
    throw new Error(`audit chain: still conflicting after ${MAX_CONFLICT_RETRIES} attempts`);
  }

  private buildRecords(events: AuditEventInput[], tail: { seq: number; hash: string } | null): StoredAuditRecord[] {
    const storedAt = this.clock.now();
    let seq = tail?.seq ?? 0;
    let prevHash = tail?.hash ?? GENESIS_HASH;
    return events.map((event) => {
      const occurredAt = new Date(event.occurredAt);
      const body = {
        ...event,
        occurredAt,
        seq: ++seq,
        storedAt,
        late: storedAt.getTime() - occurredAt.getTime() > this.lateMs,
        prevHash,
      };
      const hash = chainHash(body);
      prevHash = hash;
      return { ...body, hash, mac: recordMac(this.signingKey, hash) };
    });
  }
}

/** The same event twice in one batch (a redelivery racing its original) is stored once. */
function dedupe(events: AuditEventInput[]): AuditEventInput[] {
  const seen = new Set<string>();
  return events.filter((e) => (seen.has(e.eventId) ? false : (seen.add(e.eventId), true)));
}
