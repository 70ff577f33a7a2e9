// A synthetic audit log built straight into the chain collection (seq, prevHash, hash, mac exactly as
// the worker computes them), fast enough for 50,000 events in a test and 1,000,000 in a bench. The
// result verifies with `custos audit verify`; the light rows it returns let tests compute the expected
// answer of any filter independently of the query code.
import type { AuditAction } from '../../bot/core/audit.ts';
import { chainHash, GENESIS_HASH, recordMac } from '../../bot/core/audit-event.ts';
import { markActorIdSince } from '../../bot/store/audit-actor-index.ts';
import type { AuditModels } from '../../bot/store/audit-model.ts';
import { Prng } from '../../bot/store/prng.ts';

export interface FixtureRow {
  seq: number;
  occurredAt: Date;
  actorId: string;
  action: AuditAction;
  decision: 'allowed' | 'denied' | 'error';
  channelKind: 'dm' | 'private' | 'public' | 'shared' | 'none';
  customerIds: string[];
  grantId?: string;
}

export interface FixtureOptions {
  events: number;
  /** The newest event's time; events spread evenly back over `spanDays`. */
  end: Date;
  spanDays: number;
  actors: string[];
  customers: number;
  signingKey: Buffer;
  seed?: string;
  batch?: number;
  /** Keep the light rows in memory (tests); benches with a million events do not need them. */
  keep?: boolean;
  /** Records as written before the top-level `actorId` existed (no `actorId`, no marker). */
  legacy?: boolean;
}

const ACTION_WEIGHTS: [AuditAction, number][] = [
  ['lookup', 55], ['lookup.refused', 10], ['share', 5], ['reveal', 5], ['request.create', 5], ['grant.start', 4],
  ['grant.use', 4], ['export.start', 3], ['export.complete', 3], ['export.download', 2], ['audit.query', 2], ['admin.freeze', 1], ['heartbeat', 1],
];
const TOTAL_WEIGHT = ACTION_WEIGHTS.reduce((s, [, w]) => s + w, 0);
const CHANNELS = ['dm', 'dm', 'dm', 'private', 'public', 'shared'] as const;

export function customerIdOf(n: number): string { return `C-${String(n).padStart(6, '0')}`; }

function pickAction(r: Prng): AuditAction {
  let x = r.nextUint32() % TOTAL_WEIGHT;
  for (const [a, w] of ACTION_WEIGHTS) { if (x < w) return a; x -= w; }
  return 'lookup';
}

/** Appends `events` records after the current tail (the chain must be empty or end at `after`). */
export async function buildAuditLog(models: AuditModels, opts: FixtureOptions, after: { seq: number; hash: string } | null = null): Promise<FixtureRow[]> {
  const r = new Prng(opts.seed ?? 'audit-log-fixture');
  const batch = opts.batch ?? 5000;
  const kept: FixtureRow[] = [];
  const start = opts.end.getTime() - opts.spanDays * 86_400_000;
  const step = (opts.end.getTime() - start) / Math.max(1, opts.events - 1);
  let seq = after?.seq ?? 0;
  let prevHash = after?.hash ?? GENESIS_HASH;
  // As the chain writer does: note where records with `actorId` start before writing the first one.
  if (!opts.legacy) await markActorIdSince(models.events.db, seq + 1);
  for (let i = 0; i < opts.events; i += batch) {
    const docs: Record<string, unknown>[] = [];
    for (let j = i; j < Math.min(opts.events, i + batch); j++) {
      const action = pickAction(r);
      const occurredAt = new Date(Math.round(start + j * step));
      const actorId = opts.actors[r.nextUint32() % opts.actors.length]!;
      const nCustomers = action === 'heartbeat' || action === 'audit.query' ? 0 : action.startsWith('export') ? 1 + (r.nextUint32() % 5) : 1;
      const customerIds = [...new Set(Array.from({ length: nCustomers }, () => customerIdOf(1 + (r.nextUint32() % opts.customers))))];
      const decision = action === 'lookup.refused' ? 'denied' : r.nextUint32() % 50 === 0 ? 'error' : 'allowed';
      const channelKind = action === 'heartbeat' ? 'none' : CHANNELS[r.nextUint32() % CHANNELS.length]!;
      const grantId = action.startsWith('grant') || (action === 'reveal' && r.nextUint32() % 2 === 0) ? `G-${String(r.nextUint32() % 500).padStart(4, '0')}` : undefined;
      const body: Record<string, unknown> = {
        v: 1,
        eventId: fixtureEventId(opts.seed ?? 'f', seq + 1),
        occurredAt,
        actor: { employeeId: actorId, platform: 'slack', platformUserId: `U${actorId.replace(/\D/g, '')}` },
        ...(opts.legacy ? {} : { actorId }),
        channelKind, action, customerIds, fields: [], decision, ruleIds: ['fixture'],
        ...(grantId ? { grantId } : {}),
        seq: ++seq,
        storedAt: occurredAt,
        late: false,
        prevHash,
      };
      const hash = chainHash(body);
      prevHash = hash;
      docs.push({ ...body, hash, mac: recordMac(opts.signingKey, hash) });
      if (opts.keep !== false) kept.push({ seq, occurredAt, actorId, action, decision, channelKind, customerIds, ...(grantId ? { grantId } : {}) });
    }
    await models.events.collection.insertMany(docs, { ordered: true });
  }
  return kept;
}

/** A UUID-shaped id unique per (seed, seq), version 7 layout like the bot's. */
function fixtureEventId(seed: string, seq: number): string {
  const s = Buffer.from(seed).toString('hex').padEnd(8, '0').slice(0, 8);
  const n = seq.toString(16).padStart(12, '0');
  return `${s}-0000-7000-8000-${n}`;
}
