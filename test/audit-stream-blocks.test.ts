// Stream blocks (bot/store/audit-stream-blocks.ts): the audit stream reads the chain from the one-document-
// per-batch copies the chain writer stores, and from the events wherever a block is missing. Whatever
// blocks exist, reads are exactly the stored records (as `streamRecordOf` renders them), gapless and in
// order, for any read sizes; with every block present no read of the events by range is made at all, and
// no block is found by range either (only by `_id` equality: FerretDB pushes nothing else down). Blocks
// are stored deflated; blocks of the older uncompressed shape (`lines`) are still read.
import test from 'ava';
import fc from 'fast-check';
import mongoose from 'mongoose';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { streamRecordOf } from '../bot/core/audit-stream-record.ts';
import { systemClock } from '../bot/core/ports.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { AUDIT_STREAM_BLOCKS_COLLECTION } from '../bot/store/audit-stream-blocks.ts';
import { chainEnd, eventSource } from '../bot/store/audit-stream-source.ts';
import { ChainWriter } from '../workers/audit/chain-writer.ts';
import { randomKey, requireEnv, uniqueName } from './helpers/services.ts';

function makeEvent(i: number): AuditEventInput {
  return {
    v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
    actor: { employeeId: 'E-0007', platform: i % 2 ? 'slack' : 'lark' }, channelKind: 'dm', action: 'lookup',
    customerIds: [`C-${String(i).padStart(6, '0')}`], fields: [{ name: 'email', outcome: 'mask:email' }],
    decision: 'allowed', ruleIds: ['support-tickets'], meta: { i, half: i / 2 },
  };
}

const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName: uniqueName(import.meta.url, 'db'), monitorCommands: true }).asPromise();
const models = await auditModels(conn);
const blocks = conn.db!.collection(AUDIT_STREAM_BLOCKS_COLLECTION);
const rangeReads: string[] = [];
const blockRangeReads: string[] = [];
conn.getClient().on('commandStarted', (e) => {
  const filter = (e.command as { filter?: { seq?: unknown; last?: unknown } }).filter;
  if (e.commandName === 'find' && e.command.find === 'audit_events' && filter?.seq && typeof filter.seq === 'object') rangeReads.push(JSON.stringify(filter));
  if (e.commandName === 'find' && e.command.find === AUDIT_STREAM_BLOCKS_COLLECTION && filter?.last) blockRangeReads.push(JSON.stringify(filter));
});
let expected: Record<string, unknown>[] = [];

test.before(async () => {
  const writer = new ChainWriter(models, Buffer.from(randomKey(), 'base64'), systemClock, 60_000);
  let i = 0;
  for (const size of [7, 1, 30, 12, 3, 40, 5, 2]) {
    await writer.write(Array.from({ length: size }, () => makeEvent(i++)));
    if (writer.blockFailure) throw writer.blockFailure as Error;
  }
  expected = (await models.events.collection.find({}).sort({ seq: 1 }).toArray()).map((d) => streamRecordOf(d));
});
test.after.always(async () => {
  await conn.dropDatabase().catch(() => undefined);
  await conn.close();
});

/**
 * The whole chain through a fresh source, in reads of the given sizes (cycled). A read may come back
 * empty a few times where a block is missing (it could be a block the writer is about to store), so
 * only several empty reads in a row end it.
 */
async function readAll(limits: number[]): Promise<Record<string, unknown>[]> {
  const source = eventSource(models);
  const out: Record<string, unknown>[] = [];
  for (let k = 0, after = 0, empty = 0; empty < 5; k++) {
    const items = await source.readAfter(after, limits[k % limits.length]!);
    empty = items.length === 0 ? empty + 1 : 0;
    out.push(...items.map((it) => it.body));
    after = items.at(-1)?.seq ?? after;
  }
  return out;
}

test.serial('with every block present the chain is read from the blocks only, exactly as stored', async (t) => {
  t.is(await blocks.countDocuments({}), 8);
  t.true((await blocks.find({}).toArray()).every((b) => b.z && !('lines' in b)), 'stored deflated');
  rangeReads.length = 0;
  blockRangeReads.length = 0;
  t.deepEqual(await readAll([40]), expected);
  t.deepEqual(rangeReads, [], 'no range read of the events');
  t.deepEqual(blockRangeReads, [], 'blocks found by _id only');
});

test.serial('a caught-up source finds the next block by _id as the chain grows; a block a moment late is waited for, not scanned for', async (t) => {
  const source = eventSource(models);
  let after = 0;
  for (let empty = 0; empty < 3;) {
    const items = await source.readAfter(after, 1000);
    empty = items.length === 0 ? empty + 1 : 0;
    after = items.at(-1)?.seq ?? after;
  }
  t.is(after, expected.length);
  const writer = new ChainWriter(models, Buffer.from(randomKey(), 'base64'), systemClock, 60_000);
  const late = conn.db!.collection(AUDIT_STREAM_BLOCKS_COLLECTION);
  try {
    rangeReads.length = 0;
    blockRangeReads.length = 0;
    await writer.write([makeEvent(1000), makeEvent(1001)]);
    const block = await late.findOne({ _id: after + 1 } as never);
    await late.deleteOne({ _id: after + 1 } as never); // the writer between its two inserts
    t.deepEqual(await source.readAfter(after, 1000), [], 'records without their block yet: nothing, for now');
    await late.insertOne(block!);
    const items = await source.readAfter(after, 1000);
    t.deepEqual(items.map((i) => i.seq), [after + 1, after + 2]);
    t.deepEqual([rangeReads, blockRangeReads], [[], []], 'no range read of events or blocks');
  } finally {
    await models.events.collection.deleteMany({ seq: { $gt: after } });
    await late.deleteMany({ _id: { $gt: after } } as never);
  }
});

test.serial('blocks of the older uncompressed shape (lines) are read the same', async (t) => {
  const all = await blocks.find({}).toArray();
  const text = (r: Record<string, unknown>[]) => r.map((x) => JSON.stringify(x)).join('\n');
  try {
    await blocks.deleteMany({});
    await blocks.insertMany(all.map((b) => ({ _id: b._id, last: b.last, lines: text(expected.filter((r) => (r.seq as number) >= (b._id as unknown as number) && (r.seq as number) <= (b.last as number))) })));
    rangeReads.length = 0;
    t.deepEqual(await readAll([25]), expected);
    t.deepEqual(rangeReads, []);
  } finally {
    await blocks.deleteMany({});
    await blocks.insertMany(all);
  }
});

test.serial('any blocks missing, any read sizes: the same records, gapless, in order (events read where blocks are missing)', async (t) => {
  const all = await blocks.find({}).toArray();
  await fc.assert(fc.asyncProperty(
    fc.subarray(all.map((b) => b._id as unknown as number)), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
    async (missing, limits) => {
      await blocks.deleteMany({ _id: { $in: missing } } as never);
      try {
        rangeReads.length = 0;
        t.deepEqual(await readAll(limits), expected);
        if (missing.length > 0) t.true(rangeReads.length > 0, 'the events were read for the missing blocks');
      } finally {
        await blocks.deleteMany({});
        await blocks.insertMany(all);
      }
    },
  ), { numRuns: 12 });
});

test.serial('chainEnd probes on from a known stored seq to the same end a sort finds', async (t) => {
  const end = expected.length;
  t.is(await chainEnd(models), end);
  for (const known of [1, 2, 7, end - 1, end]) t.is(await chainEnd(models, known), end, `from ${known}`);
  t.is(await chainEnd(models, end + 5), end, 'a seq not stored: sorted instead');
});
