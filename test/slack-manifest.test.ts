// The Slack app manifest in the repo matches what the bot uses: the command it registers, the events it
// listens to, the Web API methods it calls (their scopes), and the one endpoint it serves.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { parse } from 'yaml';

const manifest = parse(readFileSync(new URL('../bot/slack/manifest.yaml', import.meta.url), 'utf8')) as {
  features: { slash_commands: { command: string; url: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { request_url: string; bot_events: string[] }; interactivity: { is_enabled: boolean; request_url: string } };
};
const handlers = readFileSync(new URL('../bot/slack/handlers.ts', import.meta.url), 'utf8');

test('the command, events and interactivity point at /slack/events', (t) => {
  t.deepEqual(manifest.features.slash_commands.map((c) => c.command), ['/customer']);
  t.true(handlers.includes("app.command('/customer'"));
  t.deepEqual(manifest.settings.event_subscriptions.bot_events.sort(), ['app_mention', 'message.im']);
  t.true(manifest.settings.interactivity.is_enabled);
  for (const url of [manifest.features.slash_commands[0]!.url, manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url]) {
    t.regex(url, /^https:\/\/[^/]+\/slack\/events$/);
  }
});

test('every Web API method the handlers call has its scope, and no scope is unused', (t) => {
  const needs: Record<string, string[]> = {
    'chat.postMessage': ['chat:write'], 'chat.postEphemeral': ['chat:write'],
    'users.info': ['users:read', 'users:read.email'],
    'conversations.info': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
    'conversations.members': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
  };
  const called = Object.keys(needs).filter((m) => handlers.includes(`client.${m}(`) || handlers.includes(`.${m.split('.')[1]}({`));
  t.deepEqual(called.sort(), Object.keys(needs).sort(), 'the handlers call these methods');
  const expected = new Set(['commands', 'app_mentions:read', 'im:history', ...Object.values(needs).flat()]);
  t.deepEqual([...manifest.oauth_config.scopes.bot].sort(), [...expected].sort());
});
