// The grant cache (bot/store/grant-cache.ts) across replicas: two Slack bots on one database and one
// Redis, each with the cache the runtime builds. A grant stored, revoked or expiring through the other
// replica shows in this replica's very next lookup; and a cache whose announcement channel is down is
// bypassed (a grant stored meanwhile without being announced is seen at once).
import net from 'node:net';
import test from 'ava';
import type { Customer, Employee } from '../bot/core/domain.ts';
import { startBot, type RunningBot } from '../bot/slack/runtime.ts';
import { CachedGrantSource, subscribeGrantChanges } from '../bot/store/grant-cache.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import type { Grant } from '../policies/grants.ts';
import { movableClock } from './helpers/slack-approval.ts';
import { SlackHarness, cardFields, messageText } from './helpers/slack-bot.ts';
import { requireEnv } from './helpers/services.ts';

const clock = movableClock();
// No engine of the harness's own: the bot decides with the engine its runtime builds, grant cache included.
const h = new SlackHarness(import.meta.url, { customers: 150, clock, overrides: { engine: undefined } });
let other: RunningBot;
const all: Customer[] = [];
const PHONE = '电话';
const MINUTE = 60_000;

test.before(async () => {
  await h.start();
  other = await startBot(h.config, h.logger, { clock });
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => {
  await other?.close();
  await h.close();
});

/** East-region customers with a phone that `salesRep` does not own: their phone is masked on salesRep's card. */
function maskedPhoneCustomer(skip: number): Customer {
  return all.filter((c) => c.region === 'east' && c.ownerId !== h.employees.salesRep.employeeId && c.phone && c.status !== 'blocked')[skip]!;
}

async function phoneShown(customerId: string): Promise<string | undefined> {
  const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), customerId);
  return cardFields(reply.body).get(PHONE);
}

function contactGrant(grantId: string, grantee: Employee, customerId: string, lifetimeMs: number): Grant {
  const now = clock.now();
  return {
    grantId, granteeId: grantee.employeeId, target: { kind: 'customers', customerIds: [customerId] }, groups: ['contact'], actions: ['lookup'],
    expiresAt: new Date(now.getTime() + lifetimeMs), grantedBy: [h.employees.salesLeadEast.employeeId], purpose: 'callback', createdAt: now,
  };
}

test.serial('a grant stored, then revoked, on the other replica shows, then no longer shows, in the next lookup here', async (t) => {
  const c = maskedPhoneCustomer(0);
  // Asked twice: the second decision is the one a cached "no grant" would answer.
  t.not(await phoneShown(c.customerId), c.phone, 'masked before any grant');
  t.not(await phoneShown(c.customerId), c.phone);

  await other.grants.create(contactGrant('G-cache-1', h.employees.salesRep, c.customerId, 60 * MINUTE));
  const reply = await h.ask(h.userId('salesRep'), h.dmOf('salesRep'), c.customerId);
  t.is(cardFields(reply.body).get(PHONE), c.phone, 'shown under the new grant at once');
  t.regex(messageText(reply.body), /以下字段依据授权 #G-cache-1 显示/);

  await other.grants.revoke('G-cache-1', h.employees.salesLeadEast.employeeId, clock.now());
  t.not(await phoneShown(c.customerId), c.phone, 'masked again at once after the revocation');
});

test.serial('a grant that expires no longer shows in the next lookup', async (t) => {
  const c = maskedPhoneCustomer(1);
  t.not(await phoneShown(c.customerId), c.phone);
  await other.grants.create(contactGrant('G-cache-2', h.employees.salesRep, c.customerId, 5 * MINUTE));
  t.is(await phoneShown(c.customerId), c.phone);
  clock.advance(6 * MINUTE);
  t.not(await phoneShown(c.customerId), c.phone, 'masked once the grant has expired');
});

/** A TCP proxy to the test Redis that can be cut (every connection dropped, new ones refused) and restored. */
async function cuttableRedis(): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const target = new URL(requireEnv('REDIS_URL'));
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => { open = false; for (const s of sockets) s.destroy(); },
    restore: () => { open = true; },
    close: () => new Promise((resolve) => { open = false; for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 600) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.serial('with its announcement channel down the cache is bypassed, and it starts empty when the channel is back', async (t) => {
  const proxy = await cuttableRedis();
  // A store that announces nothing: the grants it stores are what a lost announcement looks like.
  const silent = new MongoGrantStore(h.bot.conn);
  const cache = new CachedGrantSource(silent, { ttlMs: 60 * MINUTE });
  const subscription = subscribeGrantChanges(proxy.url, h.prefix, cache);
  t.teardown(async () => { await subscription.close(); await proxy.close(); });
  const e = h.employees.supportAgent;
  const c = maskedPhoneCustomer(2);
  await until('subscribed', () => cache.isLive());
  t.deepEqual(await cache.activeFor(e.employeeId, clock.now()), []);
  await silent.create(contactGrant('G-cache-3', e, c.customerId, 60 * MINUTE));
  t.deepEqual(await cache.activeFor(e.employeeId, clock.now()), [], 'while subscribed, "none" is remembered (the grant was not announced)');

  proxy.cut();
  await until('the subscription is seen down', () => !cache.isLive());
  t.deepEqual((await cache.activeFor(e.employeeId, clock.now())).map((g) => g.grantId), ['G-cache-3'], 'channel down: read from the store');
  await silent.create(contactGrant('G-cache-4', e, c.customerId, 60 * MINUTE));
  t.deepEqual((await cache.activeFor(e.employeeId, clock.now())).map((g) => g.grantId).sort(), ['G-cache-3', 'G-cache-4']);

  proxy.restore();
  await until('subscribed again', () => cache.isLive());
  t.deepEqual((await cache.activeFor(e.employeeId, clock.now())).map((g) => g.grantId).sort(), ['G-cache-3', 'G-cache-4'], 'nothing remembered from before the drop');
});
