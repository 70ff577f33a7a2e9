// The fake Slack Web API is only worth testing against if it refuses what real Slack refuses (issue #5:
// "rejects what real Slack would reject: block limits, text length, unknown methods"). Driven through
// Bolt's own WebClient, as the bot drives it, so a fake that quietly accepted everything would fail here.
import test from 'ava';
import { webApi } from '@slack/bolt';
import { FakeSlackApi } from './fakes/slack-api.ts';

const fake = new FakeSlackApi({ channels: [{ id: 'C1', members: ['U1'] }], users: [{ id: 'U1', email: 'a@example.com' }] });
test.before(async () => { await fake.start(); });
test.after.always(async () => { await fake.stop(); });

const client = (token = fake.token) => new webApi.WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logLevel: webApi.LogLevel.ERROR });
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

/** The Slack error code a call is refused with, or 'ok'. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    return String((err as { data?: { error?: string } }).data?.error ?? (err as Error).message);
  }
}

test.serial('a message inside the limits is accepted and recorded', async (t) => {
  const blocks = Array.from({ length: 50 }, () => section('x'.repeat(3000)));
  t.is(await outcome(() => client().chat.postMessage({ channel: 'C1', text: 'y'.repeat(40_000), blocks })), 'ok');
  t.true(fake.callsTo('chat.postMessage').at(-1)!.ok);
});

test.serial('Block Kit limits: 51 blocks, a 3,001-character section, an empty actions block are refused', async (t) => {
  const post = (blocks: unknown[]) => () => client().chat.postMessage({ channel: 'C1', text: 'fallback', blocks: blocks as never });
  t.is(await outcome(post(Array.from({ length: 51 }, () => section('x')))), 'invalid_blocks');
  t.is(await outcome(post([section('x'.repeat(3001))])), 'invalid_blocks');
  t.is(await outcome(post([{ type: 'actions', elements: [] }])), 'invalid_blocks');
  t.is(await outcome(post([{ type: 'no-such-block' }])), 'invalid_blocks');
});

test.serial('text longer than 40,000 characters and a message with nothing in it are refused', async (t) => {
  t.is(await outcome(() => client().chat.postMessage({ channel: 'C1', text: 'y'.repeat(40_001) })), 'msg_too_long');
  t.is(await outcome(() => client().chat.postMessage({ channel: 'C1', text: '' })), 'no_text');
});

test.serial('unknown methods and wrong tokens are refused', async (t) => {
  t.is(await outcome(() => client().apiCall('chat.postMessageTypo', { channel: 'C1', text: 'x' })), 'unknown_method');
  t.is(await outcome(() => client('xoxb-someone-else').chat.postMessage({ channel: 'C1', text: 'x' })), 'invalid_auth');
});

test.serial('an ephemeral message to someone outside the channel is refused', async (t) => {
  t.is(await outcome(() => client().chat.postEphemeral({ channel: 'C1', user: 'U2', text: 'x' })), 'user_not_in_channel');
  t.is(await outcome(() => client().chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'x' })), 'ok');
});

test.serial('a response_url post over the limits is refused with a non-2xx status', async (t) => {
  const url = fake.responseUrl();
  const res = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'x', blocks: Array.from({ length: 51 }, () => section('x')) }),
  });
  t.is(res.status, 400);
  t.is(await res.text(), 'invalid_blocks');
  t.false(fake.calls.at(-1)!.ok);
});
