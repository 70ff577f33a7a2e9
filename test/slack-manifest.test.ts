// The Slack app manifest in the repo matches what the bot uses: the commands it registers, the events it
// listens to, the Web API methods it calls anywhere (their scopes), and the one endpoint it serves.
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { parse } from 'yaml';

const manifest = parse(readFileSync(new URL('../bot/slack/manifest.yaml', import.meta.url), 'utf8')) as {
  features: { slash_commands: { command: string; url: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { request_url: string; bot_events: string[] }; interactivity: { is_enabled: boolean; request_url: string } };
};

/** Every TypeScript source that talks to Slack: the adapter and the workers that deliver to Slack. */
function sources(): string {
  const dirs = ['../bot/slack/', '../workers/export/', '../workers/approvals/'];
  return dirs.flatMap((d) => {
    const url = new URL(d, import.meta.url);
    return readdirSync(url).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(new URL(f, url), 'utf8'));
  }).join('\n');
}
const code = sources();

test('the commands, events and interactivity point at /slack/events', (t) => {
  const commands = [...code.matchAll(/\.command\('([^']+)'/g)].map((m) => m[1]).sort();
  t.deepEqual(manifest.features.slash_commands.map((c) => c.command).sort(), commands);
  const events = [...code.matchAll(/\.event\('([^']+)'/g)].map((m) => m[1]);
  if (/\.message\(/.test(code)) events.push('message.im');
  t.deepEqual([...manifest.settings.event_subscriptions.bot_events].sort(), [...new Set(events)].sort());
  t.true(manifest.settings.interactivity.is_enabled);
  for (const url of [...manifest.features.slash_commands.map((c) => c.url), manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url]) {
    t.regex(url, /^https:\/\/[^/]+\/slack\/events$/);
  }
});

test('every Web API method the code calls has its scope, and no scope is unused', (t) => {
  const needs: Record<string, string[]> = {
    'chat.postMessage': ['chat:write'], 'chat.postEphemeral': ['chat:write'], 'chat.update': ['chat:write'],
    'users.info': ['users:read', 'users:read.email'],
    'conversations.info': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
    'conversations.members': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
    'conversations.open': ['im:write'],
    'views.open': [],
    'filesUploadV2': ['files:write'],
  };
  const called = Object.keys(needs).filter((m) => code.includes(`.${m}(`));
  t.deepEqual(called.sort(), Object.keys(needs).sort(), 'the code calls exactly these methods (add new ones here with their scopes)');
  const eventScopes = code.includes(".event('user_change'") ? ['users:read'] : [];
  const expected = new Set(['commands', 'app_mentions:read', 'im:history', ...eventScopes, ...Object.values(needs).flat()]);
  t.deepEqual([...manifest.oauth_config.scopes.bot].sort(), [...expected].sort());
});
