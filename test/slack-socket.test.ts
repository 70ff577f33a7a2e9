// Socket Mode end to end: the real bot (SLACK_MODE=socket) asks the fake Slack API for a WebSocket URL with
// its app-level token — at SLACK_API_URL, not slack.com — connects to the fake Socket Mode server, acks
// slash-command envelopes over the socket, answers through the response_url with the same card as in HTTP
// mode, records the lookup in the audit log, and reconnects when Slack asks it to.
import test from 'ava';
import { principalOf } from '../bot/core/identity.ts';
import '../bot/core/lookup-messages.ts';
import { t as tr } from '../bot/core/messages.ts';
import { applyDecision } from '../bot/core/view.ts';
import { escapeMrkdwn } from '../bot/slack/blocks.ts';
import type { Customer } from '../bot/core/domain.ts';
import { FakeSlackSocket } from './fakes/slack-socket.ts';
import { cardFields, SlackHarness } from './helpers/slack-bot.ts';
import { slashCommandBody } from './helpers/slack-sign.ts';
import { shownValue } from './helpers/shown-value.ts';

const APP_TOKEN = 'xapp-1-A0FAKE-1-socket-test-token';
const socket = new FakeSlackSocket();
const h = new SlackHarness(import.meta.url, { customers: 60, extraEnv: { SLACK_MODE: 'socket', SLACK_APP_TOKEN: APP_TOKEN } });
const all: Customer[] = [];

test.before(async () => {
  await socket.start();
  h.fake.socketMode(APP_TOKEN, () => socket.url());
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
  await socket.connected();
});
test.after.always(async () => {
  await h.close();
  await socket.stop();
});

/** `/customer text` from a demo employee's DM, as a Socket Mode envelope; returns its envelope id and response URL. */
function slashCommand(key: 'salesRep' | 'supportAgent', text: string): { envelopeId: string; responseUrl: string } {
  const responseUrl = h.fake.responseUrl();
  const payload = Object.fromEntries(new URLSearchParams(slashCommandBody({ text, userId: h.userId(key), channelId: h.dmOf(key), responseUrl })));
  return { envelopeId: socket.send('slash_commands', payload), responseUrl };
}

test.serial('the socket URL is asked for at SLACK_API_URL with the app-level token', (t) => {
  const opens = h.fake.callsTo('apps.connections.open');
  t.true(opens.length >= 1);
  t.true(opens.every((c) => c.ok), 'the fake accepted the app token');
  t.is(socket.connections, 1);
});

test.serial('a slash command over the socket is acked before its answer is sent, answered with the policy\'s card, and audited', async (t) => {
  const e = h.employees.supportAgent;
  const base = await h.engine.decide(principalOf(e), 'lookup', { channel: 'dm', at: h.clock.now() });
  const customer = all.find((c) => h.engine.inScope(base, c) && c.phone)!;
  const { envelopeId, responseUrl } = slashCommand('supportAgent', customer.customerId);
  const ack = await socket.ackFor(envelopeId);
  const reply = await h.replyTo(responseUrl);
  t.true(ack.at <= reply.at, 'acknowledged first, then answered (no millisecond bound: the machine is shared)');
  t.true(reply.ok, reply.error);
  const decision = await h.engine.decide(principalOf(e), 'lookup', { channel: 'dm', at: h.clock.now() }, customer);
  const expected = new Map(applyDecision(customer, decision).map((f) => [tr(`field.${f.field}`, e.locale), escapeMrkdwn(shownValue(f, e.locale))]));
  const shown = cardFields(reply.body);
  for (const [label, value] of expected) t.is(shown.get(label), value, label);
  t.false(JSON.stringify(reply.body).includes(customer.phone!), 'the raw phone never reaches the card');
  const records = await h.auditRecords({ action: 'lookup', 'actor.employeeId': e.employeeId, customerIds: customer.customerId });
  t.is(records.length, 1, 'one "shown" record for the lookup');
  t.is((records[0]!.actor as { platform: string }).platform, 'slack');
});

test.serial('Slack asks for a reconnect: the bot opens a new socket and keeps answering', async (t) => {
  const opensBefore = h.fake.callsTo('apps.connections.open').length;
  socket.requestReconnect();
  await socket.connected(2);
  t.true(h.fake.callsTo('apps.connections.open').length > opensBefore, 'a fresh URL was asked for');
  const customer = all.find((c) => c.ownerId === h.employees.salesRep.employeeId)!;
  const { envelopeId, responseUrl } = slashCommand('salesRep', customer.customerId);
  await socket.ackFor(envelopeId);
  const reply = await h.replyTo(responseUrl);
  t.true(JSON.stringify(reply.body).includes(customer.customerId));
});

test.serial('an unknown user over the socket is refused with the message that says whom to ask', async (t) => {
  const responseUrl = h.fake.responseUrl();
  const payload = Object.fromEntries(new URLSearchParams(slashCommandBody({ text: 'C-000001', userId: 'U0STRANGER', channelId: 'D0STRANGER', responseUrl })));
  const envelopeId = socket.send('slash_commands', payload);
  await socket.ackFor(envelopeId);
  const reply = await h.replyTo(responseUrl);
  t.false(JSON.stringify(reply.body).includes('C-000001 '), 'no card');
  t.regex(JSON.stringify(reply.body), /#security-desk/);
});

test.serial('/readyz follows the socket: not ready while Slack cannot be reached, ready once reconnected', async (t) => {
  const readyz = async () => {
    const res = await fetch(`${h.bot.url}/readyz`);
    return { status: res.status, socket: ((await res.json()) as { checks: Record<string, string> }).checks['slack-socket'] };
  };
  t.deepEqual(await readyz(), { status: 200, socket: 'ok' });
  const before = socket.connections;
  h.fake.socketMode(APP_TOKEN, () => 'ws://127.0.0.1:1/unreachable'); // Slack hands out a URL nobody answers
  socket.drop();
  let state = await readyz();
  for (let i = 0; i < 600 && state.status === 200; i++) { await new Promise((r) => setTimeout(r, 100)); state = await readyz(); }
  t.deepEqual(state, { status: 503, socket: 'failed' });
  h.fake.socketMode(APP_TOKEN, () => socket.url());
  await socket.connected(before + 1, 60_000);
  for (let i = 0; i < 600 && state.status !== 200; i++) { await new Promise((r) => setTimeout(r, 100)); state = await readyz(); }
  t.deepEqual(state, { status: 200, socket: 'ok' });
});
