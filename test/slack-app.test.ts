// Units of the Slack adapter that need no services: the signature check (both sides of the window,
// rotation), Block Kit rendering inside Slack's limits whatever the data, and Socket Mode selection.
import { Writable } from 'node:stream';
import test from 'ava';
import { SocketModeReceiver } from '@slack/bolt';
import { createLogger } from '../bot/logger.ts';
import { renderView } from '../bot/slack/blocks.ts';
import { boltLogger, contentFree, createSlackApp } from '../bot/slack/app.ts';
import type { Deduper } from '../bot/slack/dedupe.ts';
import { dedupeKey } from '../bot/slack/dedupe.ts';
import { verifySlackRequest } from '../bot/slack/verify.ts';
import type { View } from '../bot/core/views.ts';
import type { Conversation } from '../bot/conversation/layer.ts';
import { FakeSlackApi } from './fakes/slack-api.ts';
import { signature } from './helpers/slack-sign.ts';

const body = Buffer.from('token=x&text=C-000123');
const nowMs = 1_800_000_000_000;
const ts = String(nowMs / 1000);

test('signature v0: valid, rotated secret, stale, future, tampered, malformed', (t) => {
  const sig = signature('current-secret-000000', Number(ts), body.toString());
  const check = (over: Partial<Parameters<typeof verifySlackRequest>[0]>) =>
    verifySlackRequest({ secrets: ['current-secret-000000'], rawBody: body, timestamp: ts, signature: sig, nowMs, ...over });
  t.is(check({}), null);
  t.is(check({ secrets: ['next-secret-0000000000', 'current-secret-000000'] }), null, 'either secret during a rotation');
  t.is(check({ secrets: ['other-secret-00000000'] }), 'bad_signature');
  t.is(check({ nowMs: nowMs + 301_000 }), 'stale');
  t.is(check({ nowMs: nowMs - 301_000 }), 'future');
  t.is(check({ nowMs: nowMs + 299_000 }), null);
  t.is(check({ rawBody: Buffer.from('token=x&text=C-000124') }), 'bad_signature');
  t.is(check({ signature: undefined }), 'missing_headers');
  t.is(check({ signature: [sig, sig] }), 'missing_headers');
  t.is(check({ timestamp: '1.5e9' }), 'bad_timestamp');
  t.is(check({ signature: sig.replace('v0=', 'v1=') }), 'bad_version');
});

test('dedupe keys: events by team + event id, commands and clicks by trigger id, nothing else', (t) => {
  t.is(dedupeKey({ type: 'event_callback', team_id: 'T1', event_id: 'Ev1' }), 'evt:T1:Ev1');
  t.is(dedupeKey({ command: '/customer', trigger_id: '1.2.3' }), 'cmd:1.2.3');
  t.is(dedupeKey({ type: 'block_actions', trigger_id: '4.5.6' }), 'act:4.5.6');
  t.is(dedupeKey({ type: 'url_verification' }), undefined);
});

test('cards stay inside Block Kit limits however long or many the values are', (t) => {
  const long = 'x'.repeat(5000);
  const view: View = {
    kind: 'card', customerId: 'C-000001', title: `C-000001 · ${long}`, footer: long,
    groups: Array.from({ length: 60 }, (_, g) => ({
      group: 'profile' as const, label: `G${g}`,
      fields: Array.from({ length: 30 }, (_, i) => ({ field: 'name' as const, label: `F${i}`, value: `<${long}&>`, masked: false })),
    })),
    share: { label: 'Share in channel', value: 'C-000001' },
  };
  const m = renderView(view);
  t.true(m.blocks.length <= 50);
  for (const b of m.blocks as { type: string; text?: { text: string } }[]) {
    if (b.type === 'section') t.true(b.text!.text.length <= 3000);
    if (b.type === 'header') t.true(b.text!.text.length <= 150);
  }
  t.is((m.blocks.at(-1) as { type: string }).type, 'actions', 'the share button survives truncation');
  t.false(JSON.stringify(m.blocks).includes('<x'), 'mrkdwn control characters are escaped');
  const pick = renderView({ kind: 'pick', intro: 'pick', candidates: Array.from({ length: 80 }, (_, i) => ({ customerId: `C-${i}`, summary: long, button: { label: 'Open', value: `C-${i}` } })) });
  t.true(pick.blocks.length <= 50);
});

test('SLACK_MODE=socket builds a Socket Mode app (no HTTP receiver); http mode needs the signing secret', async (t) => {
  // Bolt checks the token (auth.test) as soon as an app is built: give it a Web API to ask.
  const fake = new FakeSlackApi({ token: 'xoxb-1' });
  await fake.start();
  t.teardown(() => fake.stop());
  const logger = createLogger({ level: 'silent' });
  const deps = {
    conversation: {} as Conversation, logger,
    deduper: { firstDelivery: async () => true, forget: async () => undefined } satisfies Deduper,
  };
  const socket = createSlackApp({ mode: 'socket', botToken: 'xoxb-1', appToken: 'xapp-1', signingSecret: undefined, apiUrl: fake.apiUrl, apiRetries: 0 }, deps);
  t.is(socket.receiver, undefined);
  t.true((socket.app as unknown as { receiver: unknown }).receiver instanceof SocketModeReceiver);
  const http = createSlackApp({ mode: 'http', botToken: 'xoxb-1', appToken: undefined, signingSecret: 'sixteen-chars-secret', apiUrl: fake.apiUrl, apiRetries: 0 }, deps);
  t.truthy(http.receiver);
  // Let both apps' auth.test calls finish before the fake goes away.
  for (let i = 0; i < 1200 && fake.callsTo('auth.test').length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  t.is(fake.callsTo('auth.test').length, 2);
  t.throws(() => createSlackApp({ mode: 'http', botToken: 'xoxb-1', appToken: undefined, signingSecret: undefined, apiUrl: fake.apiUrl, apiRetries: 0 }, deps));
});

test('SDK log lines keep their gist and lose their payload: no card, query or envelope reaches the log', (t) => {
  const card = '{"channel":"C1","text":"C-000002 · 孙玉俊","blocks":[{"type":"section","text":{"text":"*电话*: 13912345678"}}]}';
  t.is(contentFree(`http request body: ${card}`), 'http request body');
  t.is(contentFree(`Received a message on the WebSocket: ${card}`), 'Received a message on the WebSocket');
  t.is(contentFree(`ack() response sent (body: ${card})`), 'ack() response sent');
  t.is(contentFree(`Calling ack() - type: events_api, envelope_id: e1, data: ${card}`), 'Calling ack() - type');
  t.is(contentFree(card), '');
  t.is(contentFree("apiCall('chat.postMessage') start"), "apiCall('chat.postMessage') start");
  t.is(contentFree('x'.repeat(500)).length, 160);

  const lines: string[] = [];
  const log = boltLogger(createLogger({ level: 'trace', destination: new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }) }));
  log.debug(`http request body: ${card}`);
  log.debug(card);
  log.info(`No request handler matched the request: /customer 13912345678`);
  log.warn(`Failed to parse the request body: ${card}`);
  log.error(new Error('孙玉俊 13912345678'), `Error details: ${card}`);
  const all = lines.join('');
  t.is(lines.length, 4, 'a message that is all payload is dropped');
  t.false(all.includes('13912345678'));
  t.false(all.includes('孙玉俊'));
  t.regex(all, /http request body/);
});
