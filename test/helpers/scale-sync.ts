// The sync run of the scale drills (issue 21): an ERP pushing signed JSON Lines batches to the push API
// (`POST /sync/v1/erp/records`, README "Push API") through the drill's round-robin proxy, so consecutive
// batches and the retries of one batch land on different bot replicas while a failure happens. One
// sender, as a system pushes: a batch at a time, each retried with the same batch id until a bot
// acknowledges it (200) — a 502 (its bot died), a 500 (refused: the audit queue could not take the run's
// event during a failover) or a 409 (claimed by a bot that died; taken over after
// CUSTOS_SYNC_PUSH_STALE_AFTER) is retried. Each batch adds three records, renames one of the batch
// before and deletes another, so the ERP's state tells a lost, doubled, stale or resurrected record apart.
// `assertSync` counts, after the drills: the customers collection holds exactly the ERP's records with
// their last values; every batch has one delivery record whose result is the one acknowledged; one
// `sync.run` per batch (the event id derived from its batch id) and one `sync.delete` per deleted record.
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { stepEventId } from '../../bot/core/audit-event.ts';
import { loadConfig } from '../../bot/config.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { demoEmployee } from '../../bot/store/demo-company.ts';
import { PUSH_PATH, pushOnce } from '../../bot/sync/push-route.ts';
import { BATCH_HEADER, pushSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../bot/sync/push-signature.ts';
import { until } from './redis-topology.ts';
import type { ScaleDrill } from './scale-drill.ts';

const SOURCE = 'erp';
const SECRET = 'scale-drill-erp-push-secret-0123456789abcdef';
/** How long the sender keeps retrying one batch (a claim cut short by a SIGKILL waits out the stale limit). */
const SEND_FOR_MS = 180_000;
/** Between an acknowledgement and the next batch: back to back, the pushes added enough load under SCALE_DRILLS=1 to push other drills past their leases. */
const PACE_MS = 300;

/** The sync settings of every bot and worker: the push source `erp` (test/fixtures/sync/erp.yaml). */
export const SYNC_ENV: Record<string, string> = {
  CUSTOS_SYNC_SOURCES: SOURCE, CUSTOS_SYNC_MAPPINGS: fileURLToPath(new URL('../fixtures/sync', import.meta.url)),
  CUSTOS_SYNC_PUSH_SECRET_ERP: SECRET,
  // A batch whose bot was SIGKILLed mid-apply is taken over after 5 s, not the default ten minutes.
  CUSTOS_SYNC_PUSH_STALE_AFTER: '5',
};

type Line = { op: 'upsert'; id: string; fields: Record<string, unknown> } | { op: 'delete'; id: string };
interface Batch { batchId: string; lines: Line[]; attempts: number[]; ack?: { replayed: boolean; results: { line: number; id?: string; status: string }[] } }

export class ScaleSync {
  readonly batches: Batch[] = [];
  /** The ERP's records as its last acknowledged batch left them: source id → customer number and name. */
  private readonly source = new Map<string, { number: string; name: string }>();
  private readonly deleted: string[] = [];
  private seeded = -1;
  private owner = demoEmployee('salesLeadEast').email;

  constructor(private readonly drill: ScaleDrill) {}

  /**
   * The sync run beside one drill: batches one after another until `done` settles or `max` were sent
   * (at least 2). Bounded: unbounded pushing beside a slow drill grew the customers (and FerretDB's work
   * per statement) until the drill could not finish. Paced (PACE_MS).
   */
  async during(done: Promise<unknown>, max: number): Promise<void> {
    if (this.seeded < 0) this.seeded = await this.customers().model.countDocuments();
    let settled = false;
    void done.finally(() => { settled = true; }).catch(() => undefined);
    for (let sent = 0; sent < Math.max(max, 2) && (sent < 2 || !settled); sent++) {
      await this.send(this.next());
      await new Promise((r) => setTimeout(r, PACE_MS));
    }
  }

  /** Three new records; the previous batch's first renamed and its last deleted. */
  private next(): Batch {
    const n = this.batches.length;
    const lines: Line[] = [0, 1, 2].map((j) => this.upsert(`ERP-${n}-${j}`, String(100_000 + n * 10 + j), `同步客户 ${n}-${j}`));
    if (n > 0) {
      const renamed = `ERP-${n - 1}-0`;
      lines.push(this.upsert(renamed, this.source.get(renamed)!.number, `同步客户 ${n - 1}-0 改`));
      lines.push({ op: 'delete', id: `ERP-${n - 1}-2` });
    }
    const batch: Batch = { batchId: `drill-${n}`, lines, attempts: [] };
    this.batches.push(batch);
    return batch;
  }

  private upsert(id: string, number: string, name: string): Line {
    return { op: 'upsert', id, fields: { Number__c: number, Name: name, Region__c: 'CN-N', Owner: { Email: this.owner } } };
  }

  /** Sends `batch` through the proxy until a bot acknowledges it; then the ERP's state is what it says. */
  private async send(batch: Batch): Promise<void> {
    const body = Buffer.from(batch.lines.map((l) => JSON.stringify(l)).join('\n'));
    const end = Date.now() + SEND_FOR_MS;
    while (!batch.ack) {
      if (Date.now() > end) throw new Error(`sync batch ${batch.batchId} never acknowledged: ${batch.attempts.join(',')}`);
      const ts = String(Math.floor(Date.now() / 1000));
      const res = await fetch(`${this.drill.proxy.url}${PUSH_PATH(SOURCE)}`, {
        method: 'POST', body,
        headers: { 'content-type': 'application/x-ndjson', [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: pushSignature(SECRET, ts, body), [BATCH_HEADER]: batch.batchId },
      }).catch(() => undefined);
      batch.attempts.push(res?.status ?? 0);
      if (res?.status === 200) batch.ack = await res.json() as Batch['ack'];
      else { await res?.arrayBuffer().catch(() => undefined); await new Promise((r) => setTimeout(r, 500)); }
    }
    for (const l of batch.lines) {
      if (l.op === 'delete') { this.source.delete(l.id); this.deleted.push(l.id); } else this.source.set(l.id, { number: String(l.fields.Number__c), name: String(l.fields.Name) });
    }
  }

  /** Whether the bot on `port` is applying a batch now: the proxy holds it there, and its claim has no result yet. */
  async applyingOn(port: number): Promise<boolean> {
    if (this.drill.proxy.holding(port, PUSH_PATH(SOURCE)) === 0) return false;
    const batch = this.batches.at(-1);
    const claim = batch && await this.drill.db.conn.collection('sync_deliveries').findOne({ _id: `${SOURCE}:push:${batch.batchId}` as never });
    return !!claim && claim.result === undefined && this.drill.proxy.holding(port, PUSH_PATH(SOURCE)) > 0;
  }

  private customers(): CustomerStore {
    return new CustomerStore(this.drill.db.conn, new FieldCipher(loadConfig(this.drill.env, { require: ['crypto'] }).crypto!));
  }

  /** Counts in the stores, after the drills (the audit chain drained: assertAuditChain first). */
  async assertSync(t: ExecutionContext): Promise<void> {
    const db = this.drill.db.conn;
    const customers = this.customers();
    t.true(this.batches.length > 0 && this.deleted.length > 0, 'the sync run pushed batches with deletions');
    // Acknowledged means applied as sent: every line upserted or deleted, however often it was retried.
    t.deepEqual(this.batches.filter((b) => JSON.stringify(b.ack!.results.map((r) => r.status)) !== JSON.stringify(b.lines.map((l) => (l.op === 'delete' ? 'deleted' : 'upserted')))).map((b) => b.batchId), [],
      'every acknowledged batch applied line by line as sent');
    const idOf = (number: string) => `C-${number.padStart(6, '0')}`;
    const wanted = [...this.source.values()].map((r) => idOf(r.number)).sort();
    t.is(await customers.model.countDocuments(), this.seeded + wanted.length, 'the customers collection: the seeded ones and exactly the ERP\'s records, none doubled or left over');
    const names = await Promise.all([...this.source.values()].map(async (r) => [idOf(r.number), (await customers.get(idOf(r.number)))?.name]));
    t.deepEqual(names.filter(([, name], i) => name !== [...this.source.values()][i]!.name), [], 'every ERP record stored with its last pushed values (none lost, no rename lost)');
    const links = await db.collection('sync_links').find({ source: SOURCE }).toArray();
    t.deepEqual(links.map((l) => String(l.customerId)).sort(), wanted, 'the sync links are exactly the ERP\'s live records');
    const goneIds = this.deleted.map((id) => `C-${String(100_000 + Number(id.split('-')[1]) * 10 + 2).padStart(6, '0')}`);
    t.is(await db.collection('sync_tombstones').countDocuments({ _id: { $in: goneIds as never[] } }), goneIds.length, 'every deleted record has its tombstone');

    // Batch state: one delivery per batch, its stored result the one acknowledged; none left claimed and unfinished.
    const deliveries = await db.collection('sync_deliveries').find({}).toArray();
    const claims = deliveries.filter((d) => !String(d._id).includes(':takeover:'));
    t.deepEqual(claims.map((d) => String(d._id)).sort(), this.batches.map((b) => `${SOURCE}:push:${b.batchId}`).sort(), 'one delivery record per batch');
    const byId = new Map(claims.map((d) => [String(d._id), d.result]));
    t.deepEqual(this.batches.filter((b) => JSON.stringify(byId.get(`${SOURCE}:push:${b.batchId}`)) !== JSON.stringify(b.ack!.results)).map((b) => b.batchId), [], 'each batch\'s stored result is the one acknowledged');

    // The audit log: one sync.run per batch (its event id derived from the batch id), one sync.delete per deletion.
    await until('the sync events stored', async () => ((await db.collection('audit_events').countDocuments({ action: 'sync.run', 'meta.source': SOURCE, decision: 'allowed' })) >= this.batches.length ? true : undefined), 120_000).catch(() => undefined);
    const runs = await db.collection('audit_events').find({ action: 'sync.run', 'meta.source': SOURCE, decision: 'allowed' }).toArray();
    t.deepEqual(runs.map((e) => String(e.eventId)).sort(), this.batches.map((b) => stepEventId(`sync:${SOURCE}:${pushOnce(b.batchId)}:run`)).sort(), 'one sync.run per batch, none twice');
    const upserts = new Map(this.batches.map((b) => [stepEventId(`sync:${SOURCE}:${pushOnce(b.batchId)}:run`), b.lines.filter((l) => l.op === 'upsert').length]));
    t.deepEqual(runs.filter((e) => Number((e.meta as { upserted: number }).upserted) + Number((e.meta as { unchanged: number }).unchanged) !== upserts.get(String(e.eventId))).map((e) => String(e.eventId)), [],
      'each sync.run counts its batch\'s upserts');
    const deletes = await db.collection('audit_events').find({ action: 'sync.delete', customerIds: { $in: goneIds } }).toArray();
    t.deepEqual(deletes.map((e) => String((e.customerIds as string[])[0])).sort(), [...goneIds].sort(), 'one sync.delete per deleted record');
    const takeovers = deliveries.length - claims.length;
    t.log(`sync: ${this.batches.length} batches, ${wanted.length} records live, ${this.deleted.length} deleted; ${this.summary()}; taken over from a killed bot ${takeovers}`);
  }

  /** Attempts that were not acknowledged, by status (0: no answer at all). */
  summary(): string {
    const per = new Map<number, number>();
    for (const b of this.batches) for (const s of b.attempts) if (s !== 200) per.set(s, (per.get(s) ?? 0) + 1);
    return `retried: ${JSON.stringify(Object.fromEntries(per))}, replayed acknowledgements ${this.batches.filter((b) => b.ack?.replayed).length}`;
  }
}
