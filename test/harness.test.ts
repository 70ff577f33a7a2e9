// Proves the test harness hands each file real, isolated services.
import test from 'ava';
import { testDatabase, testRedis, uniqueName, dropPrefix } from './helpers/services.ts';

test('real Redis answers and per-file prefixes isolate keys', async (t) => {
  const prefix = uniqueName(import.meta.url, 'prefix');
  const r = testRedis();
  t.teardown(() => r.disconnect());
  t.is(await r.ping(), 'PONG');
  await r.set(`${prefix}:probe`, '1');
  await dropPrefix(prefix);
  t.is(await r.exists(`${prefix}:probe`), 0);
});

test('real MongoDB wire server accepts writes in a per-file database', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  await db.conn.collection('probe').insertOne({ a: 1 });
  t.is(await db.conn.collection('probe').countDocuments({}), 1);
  t.regex(db.name, /^t_harness_/);
});
