// The Redis client custos makes (bot/store/redis-client.ts) sends the commands of one turn of the event
// loop in one write, on the real Redis: what a loaded bot gains (one system call, and one read on Redis's
// side, for the many lookups whose previous replies arrived together), without holding a command back
// into a later turn or tying one command's fate to another's.
import test from 'ava';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createRedis } from '../bot/store/redis-client.ts';
import { dropPrefix, requireEnv, testRedis, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('coalesce', 'prefix');
const admin = testRedis();
test.after.always(async () => {
  await dropPrefix(prefix);
  admin.disconnect();
});

/** Counts the socket's writes as Node's stream hands them to the operating system: one call each. */
function countWrites(socket: Socket): { writes: number[] } {
  const seen = { writes: [] as number[] };
  type Done = (err?: Error | null) => void;
  const s = socket as Socket & {
    _write: (chunk: unknown, encoding: BufferEncoding, cb: Done) => void;
    _writev: (chunks: { chunk: unknown; encoding: BufferEncoding }[], cb: Done) => void;
  };
  const write = s._write.bind(s);
  const writev = s._writev.bind(s);
  s._write = (chunk, encoding, cb) => { seen.writes.push(1); write(chunk, encoding, cb); };
  s._writev = (chunks, cb) => { seen.writes.push(chunks.length); writev(chunks, cb); };
  return seen;
}

async function client(t: { teardown(f: () => void): void }): Promise<Redis> {
  const r = createRedis(requireEnv('REDIS_URL'), { maxRetriesPerRequest: 1 }) as Redis;
  t.teardown(() => r.disconnect());
  await r.ping();
  return r;
}

test('the commands of one turn go out in one write, and each gets its own reply', async (t) => {
  const r = await client(t);
  const seen = countWrites(r.stream as Socket);
  const key = `${prefix}:one-turn`;
  const replies = await Promise.all(Array.from({ length: 20 }, () => r.incr(key)));
  t.deepEqual(replies, Array.from({ length: 20 }, (_, i) => i + 1));
  t.deepEqual(seen.writes, [20]);
});

test('a command of a later turn is not held for the next: one write per awaited command', async (t) => {
  const r = await client(t);
  const seen = countWrites(r.stream as Socket);
  const key = `${prefix}:turns`;
  for (let i = 1; i <= 5; i++) t.is(await r.incr(key), i);
  t.deepEqual(seen.writes, [1, 1, 1, 1, 1]);
});

test('a failing command in a coalesced write fails alone', async (t) => {
  const r = await client(t);
  const key = `${prefix}:mixed`;
  await r.set(`${key}:string`, 'not a number');
  const results = await Promise.allSettled([r.incr(`${key}:n`), r.incr(`${key}:string`), r.incr(`${key}:n`)]);
  t.deepEqual(results.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual(results.filter((x) => x.status === 'fulfilled').map((x) => (x as PromiseFulfilledResult<number>).value), [1, 2]);
});

test('after the connection is killed, the new one coalesces too and nothing is lost', async (t) => {
  const r = await client(t);
  const id = await r.client('ID');
  // Commands sent in the turn the connection dies in: retried on the new connection (maxRetriesPerRequest 1).
  const killed = admin.client('KILL', 'ID', String(id));
  const key = `${prefix}:reconnect`;
  const during = Promise.all([r.incr(key), r.incr(key)]);
  await killed;
  t.deepEqual((await during).sort(), [1, 2]);
  await nextTurn();
  t.not(await r.client('ID'), id);
  const seen = countWrites(r.stream as Socket);
  t.deepEqual(await Promise.all([r.incr(key), r.incr(key), r.incr(key)]), [3, 4, 5]);
  t.deepEqual(seen.writes, [3]);
});
