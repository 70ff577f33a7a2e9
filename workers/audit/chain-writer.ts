// Appends events to the hash chain: build the next records (seq, prevHash, hash, mac) after the tail and
// insert them in one ordered insert. The tail is kept in memory between batches (reading it back, or
// looking every eventId up, costs a collection scan on some servers); it is re-read, together with a
// look-up of which events are already stored, whenever it is unknown or an insert failed. A duplicate
// key (another writer took the seq, or a redelivered event is already stored) means exactly that:
// re-read and go again. Anything else is thrown to the caller, which keeps the jobs and retries later;
// nothing is acknowledged before `write` returns.
import type { AuditEventInput } from '../../bot/core/audit.ts';
import { GENESIS_HASH, chainHash, recordMac, type StoredAuditRecord } from '../../bot/core/audit-event.ts';
import type { Clock } from '../../bot/core/ports.ts';
import type { AuditModels } from '../../bot/store/audit-model.ts';
import { markActorIdSince } from '../../bot/store/audit-actor-index.ts';
import { appendRecords, isDuplicateKey, readTail, storedEventIds } from '../../bot/store/audit-store.ts';
import { writeStreamBlocks } from '../../bot/store/audit-stream-blocks.ts';

const MAX_CONFLICT_RETRIES = 50;

export interface WriteResult { stored: number; duplicates: number; lastSeq: number }

export class ChainWriter {
  private tail: { seq: number; hash: string } | null | undefined = undefined; // undefined: unknown
  /** Why the last batch's stream block could not be stored (null: stored), for the worker to log. */
  blockFailure: unknown = null;

  constructor(
    private readonly models: AuditModels,
    private readonly signingKey: Buffer,
    private readonly clock: Clock,
    private readonly lateMs: number,
  ) {}

  /** The last record this writer stored or read, when known (undefined after a failure). */
  knownTail(): { seq: number; hash: string } | null | undefined {
    return this.tail;
  }

  /** Drops the cached tail (a new lease term: someone else may have written meanwhile). */
  forgetTail(): void {
    this.tail = undefined;
  }

  async write(events: AuditEventInput[]): Promise<WriteResult> {
    let pending = dedupe(events);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      if (this.tail === undefined) {
        const tail = await readTail(this.models);
        await this.markActorIdStart(tail);
        this.tail = tail;
        const already = await storedEventIds(this.models, pending.map((e) => e.eventId));
        pending = pending.filter((e) => !already.has(e.eventId));
      }
      if (pending.length === 0) return { stored: 0, duplicates: events.length, lastSeq: this.tail?.seq ?? 0 };
      const records = this.buildRecords(pending, this.tail);
      const err = await appendRecords(this.models, records);
      if (err === null) {
        // The stream's copy (bot/store/audit-stream-blocks.ts); without it the stream reads the events.
        this.blockFailure = await writeStreamBlocks(this.models.events.db.db!, records);
        const last = records.at(-1)!;
        this.tail = { seq: last.seq, hash: last.hash };
        return { stored: records.length, duplicates: events.length - records.length, lastSeq: last.seq };
      }
      // Some prefix of the batch may be stored: forget what we assumed and start again from the database.
      this.tail = undefined;
      if (!isDuplicateKey(err)) throw err;
    }
    throw new Error(`audit chain: still conflicting after ${MAX_CONFLICT_RETRIES} attempts`);
  }

  /**
   * Before the first record with `actorId` is appended, notes where they start (audit-actor-index.ts).
   * Only needed when the tail is an older record without it (or there is none); once a record with
   * `actorId` is stored, its writer already left the marker.
   */
  private async markActorIdStart(tail: { seq: number; hasActorId: boolean } | null): Promise<void> {
    if (tail?.hasActorId) return;
    await markActorIdSince(this.models.events.db, (tail?.seq ?? 0) + 1);
  }

  private buildRecords(events: AuditEventInput[], tail: { seq: number; hash: string } | null): StoredAuditRecord[] {
    const storedAt = this.clock.now();
    let seq = tail?.seq ?? 0;
    let prevHash = tail?.hash ?? GENESIS_HASH;
    return events.map((event) => {
      const occurredAt = new Date(event.occurredAt);
      const body = {
        ...event,
        // A top-level copy for index-friendly "by actor" queries; hashed with the rest, so it is as
        // tamper-evident as actor.employeeId itself (audit-verify.ts also checks the two agree).
        actorId: event.actor.employeeId,
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
