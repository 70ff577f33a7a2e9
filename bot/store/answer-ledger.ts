// The pending-answer ledger: a request a bot acknowledged but has not answered yet, kept in Redis so
// that another replica can finish it when the bot that acknowledged it dies (Slack and Lark do not
// retry an acknowledged request). Written BEFORE the acknowledgement; removed once the answer is out.
//
// One ledger per platform (`namespace`: its claimers decode only their own records, and a process that
// runs two platforms' bots runs two claimers). One entry per request: a hash `…:{answers}:<ns>:e:<id>`
// (the caller's sealed record, the lease generation `gen`, the lease's end `until`, and `replied`: 0,
// `sending` once a reply was begun, 1 once it is out) and its lease end in one sorted set
// `…:{answers}:<ns>:due`. Every key carries the hash tag `{answers}`, so each script's keys share one
// slot on a Redis Cluster. Times are the caller's clock (milliseconds), never Redis's: tests drive it.
//
// Ownership is a lease with a fencing generation: `open` gives generation 1 to the acknowledging bot;
// `claim` takes entries whose lease ended and bumps the generation, so the previous holder's later
// renew / beginReply / markReplied / finish (compare-and-set on `gen`) fail and it stops. A holder
// renews while it works (a heartbeat) and, before each reply, calls `beginReply`: in one script it
// checks its generation, extends the lease and marks the entry `sending`. So at most one holder ever
// sends: a stalled holder whose lease ran out either finds itself fenced off at `beginReply` (the
// claimer answers), or had marked the entry before the claim (the claimer finds `sending` and only
// closes the entry; the stalled holder's send goes out once it wakes). `replied` (1) follows the send.
// The price: a holder killed between `beginReply` and its send leaves the request unanswered where the
// platform cannot drop a repeated reply (Slack's response_url): at most once is preferred to twice
// (pending-answers.ts; README, Scaling).
// An opening whose answer never came (a timeout: under load, or a failover, after which ioredis sends the
// command again) may have made its entry, or may make it later; answered unprotected, that entry was
// claimed and answered a second time (the cluster drill, four lookups once). Such a lease is `unsure`:
// its first reply `adopt`s it (the entry held as generation 1, or, when there is none, the request
// closed so that a late opening makes none), and one never adopted is `settle`d. A closed request keeps
// a small mark (`…:x:<id>`, for the entry's TTL) that every opening checks. A write the Redis primary acknowledged but had not replicated when it died is still lost in
// a failover (Redis replicates asynchronously); that window is not closed here.
import type { RedisClient } from './redis-client.ts';
import { RedisScript } from './redis-script.ts';

/** One claimed or opened entry, as its holder sees it. */
export interface AnswerLease {
  id: string;
  /** Fencing generation: the holder's proof in every later call. */
  gen: number;
  /** The caller's record (sealed by the caller where it holds anything personal). */
  record: string;
  /** A reply was started (`sending`) or went out: nobody may send one again, only close the entry. */
  replied: boolean;
  /** Started and never confirmed sent: its holder died or stalled between `beginReply` and `markReplied`. */
  unconfirmed: boolean;
  /**
   * The opening's token, when the opening's answer never came (it may have run, now or later): the
   * entry may not exist. Such a lease is taken up by `adopt` before a reply, or closed by `settle`.
   */
  unsure?: string;
}

/** What `adopt` found: the opening made the entry (now held), made none (and never will), or it is another's. */
export type Adopted = 'held' | 'none' | 'taken';

export interface AnswerLedgerOptions {
  /** Key prefix (the deployment's CUSTOS_QUEUE_PREFIX without braces). */
  prefix: string;
  /** Whose requests (the platform id): each platform's entries are claimed and decoded by its own bots. */
  namespace: string;
  /** How long a lease lasts without renewal (ms). */
  leaseMs: number;
  /** Entries are dropped after this long even if never finished (default 30 min: Slack's response_url's life). */
  ttlSeconds?: number;
}

// 0 when the entry exists: a redelivery of a request some bot already took. 1 as well for the same
// opening tried again (ARGV[5], its token: the first try's answer was lost, a timeout under load), while
// no claim has taken the entry. 0 once the request is closed (KEYS[3]): an opening that lands after its
// bot gave up on it and settled the request (a command resent after a reconnect) opens nothing.
const OPEN = new RedisScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then
  local f = redis.call('HMGET', KEYS[1], 'opener', 'gen')
  if f[1] == ARGV[5] and f[2] == '1' then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'gen', 1, 'until', ARGV[2], 'replied', 0, 'opener', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1`);

// KEYS[1] due set; ARGV now, new lease end, max entries, entry key prefix.
const CLAIM = new RedisScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    local gen = redis.call('HINCRBY', key, 'gen', 1)
    redis.call('HSET', key, 'until', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    local f = redis.call('HMGET', key, 'record', 'replied')
    table.insert(out, {id, gen, f[1], f[2]})
  end
end
return out`);

// KEYS[1] entry, KEYS[2] due; ARGV gen, new lease end, id. 1 when the caller still holds the lease.
const RENEW = new RedisScript(`
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'until', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1`);

// KEYS[1] entry, KEYS[2] due; ARGV gen, new lease end, id. Renews and marks the reply in flight, at once.
const BEGIN_REPLY = new RedisScript(`
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'until', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if redis.call('HGET', KEYS[1], 'replied') == '0' then redis.call('HSET', KEYS[1], 'replied', 'sending') end
return 1`);

const MARK_REPLIED = new RedisScript(`
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'replied', 1)
return 1`);

// KEYS[1] entry, KEYS[2] due, KEYS[3] closed mark; ARGV gen, id, ttl.
const FINISH = new RedisScript(`
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[3])
return 1`);

// An opening whose answer never came (timed out: it may have run, or run later): KEYS[1] entry, KEYS[2]
// due, KEYS[3] closed mark; ARGV token, new lease end, id, ttl. 1: it did open, and the caller now holds
// it (generation 1), marked sending as by beginReply. 2: there is no entry and now never will be (closed,
// so the opening, should it still land, opens nothing): the caller answers on its own. 0: the entry is
// another replica's (claimed), or the request was closed by one: not the caller's to answer. The closed
// mark it sets names the caller's token, so the same adoption asked again (its answer lost to a client
// timeout after it ran) reads 2 again: read as 0, it left the request closed and unanswered by anyone
// (the cluster drill, one lookup through the primary kill).
const ADOPT = new RedisScript(`
local closedBy = redis.call('GET', KEYS[3])
if closedBy then
  if closedBy == 'adopt:' .. ARGV[1] then return 2 end
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  local f = redis.call('HMGET', KEYS[1], 'opener', 'gen', 'replied')
  if f[1] ~= ARGV[1] or f[2] ~= '1' then return 0 end
  redis.call('HSET', KEYS[1], 'until', ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  if f[3] == '0' then redis.call('HSET', KEYS[1], 'replied', 'sending') end
  return 1
end
redis.call('SET', KEYS[3], 'adopt:' .. ARGV[1], 'EX', ARGV[4])
return 2`);

// Closes a request whose opening was never confirmed nor adopted (its answer went out unprotected, or
// none was due): KEYS as ADOPT; ARGV token, id, ttl. The entry goes if that opening made it and no claim
// took it; either way the request is closed, so an opening that lands later opens nothing.
const SETTLE = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  local f = redis.call('HMGET', KEYS[1], 'opener', 'gen')
  if f[1] == ARGV[1] and f[2] == '1' then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[2])
  end
end
redis.call('SET', KEYS[3], '1', 'EX', ARGV[3])
return 1`);

export class AnswerLedger {
  private readonly base: string;
  readonly leaseMs: number;
  private readonly ttlSeconds: number;

  constructor(private readonly redis: RedisClient, opts: AnswerLedgerOptions) {
    this.base = `${opts.prefix}:{answers}:${opts.namespace}`;
    this.leaseMs = opts.leaseMs;
    this.ttlSeconds = opts.ttlSeconds ?? 1800;
  }

  private entry(id: string): string { return `${this.base}:e:${id}`; }
  /** Set when a request is closed (finished, or settled by its opener): no opening makes its entry again. */
  private closed(id: string): string { return `${this.base}:x:${id}`; }
  private get due(): string { return `${this.base}:due`; }

  /**
   * Records an acknowledged-to-be request, held by the caller (generation 1). Before the ack. null when
   * `id` is open already (a redelivery: its first bot answers it, or another replica once it died).
   * `token` is this delivery's own (random): a retry of the same opening gets its lease, not null.
   */
  async open(id: string, record: string, nowMs: number, token: string): Promise<AnswerLease | null> {
    const opened = await OPEN.run(this.redis, [this.entry(id), this.due, this.closed(id)], [record, nowMs + this.leaseMs, this.ttlSeconds, id, token]);
    return Number(opened) === 1 ? { id, gen: 1, record, replied: false, unconfirmed: false } : null;
  }

  /** Takes up to `max` entries whose lease ended at `nowMs`; each comes with a new generation. */
  async claim(nowMs: number, max = 10): Promise<AnswerLease[]> {
    const rows = (await CLAIM.run(this.redis, [this.due], [nowMs, nowMs + this.leaseMs, max, `${this.base}:e:`])) as [string, number, string | null, string | null][];
    return rows.filter((r) => r[2] !== null)
      .map(([id, gen, record, replied]) => ({ id, gen: Number(gen), record: record!, replied: replied !== '0', unconfirmed: replied === 'sending' }));
  }

  /** Extends the lease; false when another replica has claimed the entry (the caller must stop). */
  async renew(lease: AnswerLease, nowMs: number): Promise<boolean> {
    return Number(await RENEW.run(this.redis, [this.entry(lease.id), this.due], [lease.gen, nowMs + this.leaseMs, lease.id])) === 1;
  }

  /**
   * Before a reply: true when the caller still holds the entry, which is then marked `sending` (its
   * lease extended) so no claimer sends too; false when another replica claimed it (do not send).
   */
  async beginReply(lease: AnswerLease, nowMs: number): Promise<boolean> {
    return Number(await BEGIN_REPLY.run(this.redis, [this.entry(lease.id), this.due], [lease.gen, nowMs + this.leaseMs, lease.id])) === 1;
  }

  /** The answer is out (confirmed): a later claimer only closes the entry. */
  async markReplied(lease: AnswerLease): Promise<boolean> {
    return Number(await MARK_REPLIED.run(this.redis, [this.entry(lease.id)], [lease.gen])) === 1;
  }

  /** Removes the entry (the request closed); false when the caller no longer held it. */
  async finish(lease: AnswerLease): Promise<boolean> {
    return Number(await FINISH.run(this.redis, [this.entry(lease.id), this.due, this.closed(lease.id)], [lease.gen, lease.id, this.ttlSeconds])) === 1;
  }

  /** Before the first reply of an `unsure` lease: see ADOPT. `held` makes it an ordinary lease (generation 1, marked sending). */
  async adopt(lease: AnswerLease & { unsure: string }, nowMs: number): Promise<Adopted> {
    const got = Number(await ADOPT.run(this.redis, [this.entry(lease.id), this.due, this.closed(lease.id)], [lease.unsure, nowMs + this.leaseMs, lease.id, this.ttlSeconds]));
    return got === 1 ? 'held' : got === 2 ? 'none' : 'taken';
  }

  /** Closes the request of an `unsure` lease that was never adopted: see SETTLE. */
  async settle(lease: AnswerLease & { unsure: string }): Promise<boolean> {
    await SETTLE.run(this.redis, [this.entry(lease.id), this.due, this.closed(lease.id)], [lease.unsure, lease.id, this.ttlSeconds]);
    return true;
  }

  /** Entries not finished yet (metrics, tests). */
  async pending(): Promise<number> {
    return this.redis.zcard(this.due);
  }
}
