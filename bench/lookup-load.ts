// The lookup bench's load generator, in its own process (forked by lookup.bench.ts with IPC): it hosts the
// fake Slack Web API and sends the signed `/customer` requests. In production Slack is another machine;
// here it is another process, so the bot's event loop measured by the bench runs the bot and nothing else.
//
// Messages from the parent: `start` (users and channels for the fake) → `ready` (apiUrl, token);
// `drive` (url, asks, concurrency) → `driven` (sorted latencies in ms, seconds); `stop` → exits.
// Latency of one request = from sending the signed POST to the fake receiving the bot's reply.
import { FakeSlackApi, type FakeChannel, type FakeUser } from '../test/fakes/slack-api.ts';
import { FORM, sign, slashCommandBody } from '../test/helpers/slack-sign.ts';
import { loopStalls, now } from './lib.ts';

export interface Ask { userId: string; text: string }

export type LoadRequest =
  | { type: 'start'; users: FakeUser[]; channels: FakeChannel[] }
  | { type: 'drive'; url: string; secret: string; asks: Ask[]; concurrency: number; traceStalls?: boolean }
  | { type: 'stop' };

export type LoadReply =
  | { type: 'ready'; apiUrl: string; token: string }
  | { type: 'driven'; latencies: number[]; seconds: number; trace: Array<[number, number]>; stalls: Array<[number, number]> }
  | { type: 'failed'; message: string };

let fake: FakeSlackApi | undefined;

function send(reply: LoadReply): void {
  process.send!(reply);
}

/** Sends `asks` with `concurrency` in flight; a reply that is not a customer card fails the run. */
async function drive(url: string, secret: string, asks: Ask[], concurrency: number, traceStalls = false): Promise<{ latencies: number[]; seconds: number; trace: Array<[number, number]>; stalls: Array<[number, number]> }> {
  const api = fake!;
  const latencies: number[] = [];
  /** [start as epoch ms, latency ms] per request, for BENCH_LOOKUP_TRACE. */
  const trace: Array<[number, number]> = [];
  let next = 0;
  const t0 = now();
  // Only for BENCH_LOOKUP_TRACE: a 5 ms timer is work of its own in the measured process.
  const stalls = traceStalls ? loopStalls() : undefined;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= asks.length) return;
      const ask = asks[i]!;
      const responseUrl = api.responseUrl();
      const raw = slashCommandBody({ text: ask.text, userId: ask.userId, channelId: `D${ask.userId.slice(1)}`, responseUrl });
      const started = now();
      const replied = api.nextCallTo(new URL(responseUrl).pathname, 120_000);
      replied.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      const res = await fetch(url, { method: 'POST', ...sign(secret, raw, FORM) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      const reply = await replied;
      if (!JSON.stringify(reply.body).includes('C-')) throw new Error(`unexpected reply: ${JSON.stringify(reply.body).slice(0, 200)}`);
      const latency = now() - started;
      latencies.push(latency);
      trace.push([performance.timeOrigin + started, latency]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  // The fake records every call; a bench makes tens of thousands: keep memory flat.
  api.calls.splice(0, api.calls.length);
  return { latencies: latencies.sort((a, b) => a - b), seconds: (now() - t0) / 1000, trace, stalls: stalls?.stop() ?? [] };
}

process.on('message', (msg: LoadRequest) => {
  void (async () => {
    try {
      if (msg.type === 'start') {
        fake = new FakeSlackApi({ users: msg.users, channels: msg.channels });
        await fake.start();
        send({ type: 'ready', apiUrl: fake.apiUrl, token: fake.token });
      } else if (msg.type === 'drive') {
        send({ type: 'driven', ...(await drive(msg.url, msg.secret, msg.asks, msg.concurrency, msg.traceStalls)) });
      } else {
        await fake?.stop();
        process.exit(0);
      }
    } catch (err) {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
