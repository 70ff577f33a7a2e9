// Durability of one write across a failover: Redis replicates asynchronously, so a primary killed right
// after acknowledging a write can lose it when a replica takes over. `WAIT numreplicas timeout` blocks
// until that many replicas acknowledged every write the *calling connection* made (Redis docs: WAIT), so
// it must go over the very socket that carried the write:
// - a plain or Sentinel-configured `Redis` has one socket, the one BullMQ's Queue writes through (BullMQ 6
//   wraps a passed ioredis instance in a proxy over the same client, classes/ioredis-client.js);
// - an ioredis `Cluster` keeps one `Redis` per node and sends a keyed command to the primary its slot map
//   names for the key's slot (`cluster.slots[slot][0]`); the audit queue's keys share one hash tag, so one
//   slot, so one node connection — the one `WAIT` is sent on.
// A WAIT on a socket that wrote nothing returns at once with every connected replica, a silent false
// "durable"; so the node is pinned before the write and its socket must be the same from the write to the
// end of WAIT (a reconnect or a slot moved to another primary in between: refused, and the caller offers
// the job again, which writes again — BullMQ logs a "duplicated" event for an existing jobId).
import { Cluster, type Redis } from 'ioredis';
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { RedisClient } from '../store/redis-client.ts';

export interface ReplicaWaitSettings {
  /** Replicas that must confirm (0: no WAIT at all). */
  minReplicas: number;
  /** Server-side WAIT timeout. */
  timeoutMs: number;
}

/** The connection a write is about to go over; `confirm()` after the write resolves once it is durable. */
export interface PinnedWrite { confirm(): Promise<void> }

export interface ReplicaWait {
  /** Pins the connection a write to `key` will use; throws AuditUnavailable when there is none yet. */
  pin(key: string): PinnedWrite;
}

const NOTHING_TO_WAIT: PinnedWrite = { confirm: async () => undefined };

export function replicaWait(client: RedisClient, settings: ReplicaWaitSettings): ReplicaWait {
  if (settings.minReplicas === 0) return { pin: () => NOTHING_TO_WAIT };
  return {
    pin(key) {
      const node = connectionFor(client, key);
      if (!node) throw unavailable('no connection to the primary of the audit queue');
      // A cluster's node connection is opened by its first command (lazy): then there is no socket yet,
      // and the one the write opened is taken right after it.
      const before = node.stream as unknown;
      return {
        async confirm() {
          const socket = node.stream as unknown;
          const acked = Number(await node.call('WAIT', settings.minReplicas, settings.timeoutMs));
          if ((before && before !== socket) || node.stream !== socket || connectionFor(client, key) !== node) {
            throw unavailable('the connection to the primary changed before its replicas confirmed the job');
          }
          if (acked < settings.minReplicas) {
            throw unavailable(`${acked} of ${settings.minReplicas} required replicas confirmed the job within ${settings.timeoutMs} ms`, { acked, required: settings.minReplicas });
          }
        },
      };
    },
  };
}

/** The node connection a keyed command goes out on: the client itself, or the slot's primary in a cluster. */
export function connectionFor(client: RedisClient, key: string): Redis | undefined {
  if (!(client instanceof Cluster)) return client;
  const primaryKey = client.slots[keySlot(key)]?.[0];
  if (!primaryKey) return undefined;
  return client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === primaryKey);
}

function unavailable(why: string, details: Record<string, unknown> = {}): CustosError {
  return new CustosError(ErrorCode.AuditUnavailable, `audit queue unavailable: ${why}`, details);
}

/** Redis Cluster's key slot: CRC16 (XMODEM) of the key's hash tag, or of the whole key, mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
