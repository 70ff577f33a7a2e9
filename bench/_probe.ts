import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { eventSource } from '../bot/store/audit-stream-source.ts';
import { ChainWriter } from '../workers/audit/chain-writer.ts';
import { now, requireEnv, round } from './lib.ts';
const N = Number(process.env.N ?? 20000);
function event(i: number): AuditEventInput {
  return { v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
    actor: { employeeId: `E-${String(i % 50).padStart(4, '0')}`, platform: i % 2 ? 'slack' : 'lark', platformUserId: `U${i % 50}` },
    channelKind: 'dm', action: 'lookup', customerIds: [`C-${String(i % 5000).padStart(6, '0')}`],
    fields: [{ name: 'name', outcome: 'mask:name' }, { name: 'phone', outcome: 'mask:mobile' }, { name: 'tier', outcome: 'show' }],
    decision: 'allowed', ruleIds: ['sales-own', 'contact-masked'], correlationId: `req-${i}`, meta: { candidates: 1 } };
}
const conn = await mongoose.createConnection(requireEnv('MONGODB_URI'), { dbName: `probe_${randomBytes(3).toString('hex')}`, autoIndex: false }).asPromise();
const models = await auditModels(conn);
const writer = new ChainWriter(models, randomBytes(32), { now: () => new Date() }, 60_000);
for (let i = 0; i < N; i += 1000) await writer.write(Array.from({ length: 1000 }, (_, j) => event(i + j)));
const c = models.events.collection;
async function time(name: string, f: () => Promise<number>) { const t = now(); const n = await f(); const ms = now() - t; console.log(name, n, round(ms), 'ms', round(n / (ms / 1000)), '/s'); }
for (const [name, filter, sort] of [['gt0', { seq: { $gt: 0 } }, null], ['gtHalf', { seq: { $gt: N / 2 } }, null], ['gt0 sort', { seq: { $gt: 0 } }, { seq: 1 }], ['all sort', {}, { seq: 1 }], ['all', {}, null]] as const) {
  const ex = await conn.db!.command({ explain: { find: 'audit_events', filter, ...(sort ? { sort } : {}), limit: 1000 } });
  console.log(name, JSON.stringify({ pushdown: ex.filterPushdown ?? ex.pushdown, sortPushdown: ex.sortPushdown, limitPushdown: ex.limitPushdown, plan: JSON.stringify(ex.queryPlanner).slice(0, 300) }));
  await time(`${name} full`, async () => { let n = 0; const cur = c.find(filter, { projection: { _id: 0 } }).batchSize(1000); if (sort) cur.sort(sort); for await (const _ of cur) n++; return n; });
  await time(`${name} limit1000`, async () => { let n = 0; const cur = c.find(filter, { projection: { _id: 0 } }).limit(1000); if (sort) cur.sort(sort); for await (const _ of cur) n++; return n; });
}
await time('eq seq', async () => { let n = 0; for (let i = 1; i <= 200; i++) n += (await c.find({ seq: i }).toArray()).length; return n; });
await time('in seq x1000', async () => (await c.find({ seq: { $in: Array.from({ length: 1000 }, (_, i) => i + 5001) } }).toArray()).length);
await time('source', async () => { const s = eventSource(models); let n = 0; for (let a = 0; a < N;) { const it = await s.readAfter(a, 1000); n += it.length; a = it.at(-1)!.seq; } return n; });
await conn.dropDatabase(); await conn.close();
