// The audit stream's lag alert as the security channel sees it: a Splunk HEC sink goes down while
// events are written; once its lag passes CUSTOS_STREAM_LAG_ALERT, ONE message reaches the Slack security
// channel (through the same channel and posting code as the anomaly alerts), however many lag checks
// follow while it is still behind; when the sink is back and caught up, ONE recovery message follows.
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import type { StreamSettings } from '../bot/config-stream.ts';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { newEventId } from '../bot/core/audit-event.ts';
import { systemClock } from '../bot/core/ports.ts';
import { streamLagView } from '../bot/core/security/notices.ts';
import { createLogger } from '../bot/logger.ts';
import { channelNotices } from '../bot/runtime/security-notices.ts';
import { auditModels } from '../bot/store/audit-model.ts';
import { ChainWriter } from '../workers/audit/chain-writer.ts';
import { startStreamWorker } from '../workers/stream/worker.ts';
import { FakeLarkApi } from './fakes/lark-api.ts';
import { FakeSlackApi } from './fakes/slack-api.ts';
import { FakeSplunkHec } from './fakes/splunk-hec.ts';
import { randomKey, testDatabase, testEnv, uniqueName } from './helpers/services.ts';
import { timersLeftBy } from './helpers/timers.ts';

const TOKEN = '5e2f6a1c-7d3b-4c8e-9f10-2a3b4c5d6e7f';
const CHANNEL = 'c0ffee00-1234-4abc-8def-0123456789ab';
const SECURITY = 'C0SECURITY';
const logger = createLogger({ level: 'silent' });

function event(i: number): AuditEventInput {
  return {
    v: 1, eventId: newEventId(new Date()), occurredAt: new Date().toISOString(),
    actor: { employeeId: 'E-0007', platform: 'slack' }, channelKind: 'dm', action: 'lookup',
    customerIds: [`C-${String(i).padStart(6, '0')}`], fields: [], decision: 'allowed', ruleIds: ['r1'],
  };
}

const posts = (slack: FakeSlackApi) => slack.callsTo('chat.postMessage').filter((c) => c.ok && c.body.channel === SECURITY);

test('a sink past the lag threshold: one message to the security channel per crossing, and one when it recovers', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const slack = new FakeSlackApi({ channels: [{ id: SECURITY, members: [] }] });
  const hec = new FakeSplunkHec({ token: TOKEN });
  await Promise.all([slack.start(), hec.start()]);
  t.teardown(async () => { await slack.stop(); await hec.stop(); });
  const config = loadConfig(testEnv(db.name, uniqueName(import.meta.url, 'prefix'), {
    SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: 'a'.repeat(32), SLACK_API_URL: slack.apiUrl, SLACK_API_RETRIES: '0',
    CUSTOS_SECURITY_CHANNEL: SECURITY, CUSTOS_LOCALE: 'en',
  }), { require: ['mongo'] });
  const notices = await channelNotices(config, logger);
  t.truthy(notices, 'Slack and CUSTOS_SECURITY_CHANNEL configured: notices go there');

  const key = Buffer.from(randomKey(), 'base64');
  const models = await auditModels(db.conn);
  const writer = new ChainWriter(models, key, systemClock, 60_000);
  await writer.write(Array.from({ length: 10 }, (_, i) => event(i)));
  const settings: StreamSettings = {
    sinks: [{ kind: 'splunk', url: hec.url, token: TOKEN, channel: CHANNEL, index: undefined, ackTimeoutMs: 300 }],
    batchSize: 20, window: 1, pollMs: 30, backoffMaxMs: 300, lagAlert: 25, anchorFile: undefined, anchorUrl: undefined,
  };
  const stream = await startStreamWorker(db.conn, settings, logger, { notices: notices!, locale: 'en' });
  let closed = false;
  t.teardown(() => (closed ? undefined : stream.close()));
  await hec.stop(); // the sink goes down; 40 more events make it 40+ behind (threshold 25)
  await writer.write(Array.from({ length: 40 }, (_, i) => event(100 + i)));

  const alert = await slack.waitFor((c) => c.method === 'chat.postMessage' && c.ok && String(c.body.text).startsWith('Audit stream alert'), 60_000);
  t.regex(String(alert.body.text), /^Audit stream alert: splunk is (4\d|50) events behind$/);
  const blocks = JSON.stringify(alert.body.blocks);
  t.regex(blocks, /passed the threshold of 25 \(CUSTOS_STREAM_LAG_ALERT\)/);
  t.regex(blocks, /custos_audit_stream_lag\{sink=\\"splunk\\"\}/);

  // Still down through further lag checks (every 5 s): no second alert. Then back: one recovery.
  await new Promise((r) => setTimeout(r, 6000));
  t.is(posts(slack).length, 1, 'one message per crossing, not one per check');
  await hec.start();
  const ok = await slack.waitFor((c) => c.method === 'chat.postMessage' && c.ok && String(c.body.text).startsWith('Audit stream recovered'), 60_000);
  t.is(String(ok.body.text), 'Audit stream recovered: splunk');
  t.regex(JSON.stringify(ok.body.blocks), /splunk is back under the threshold: \d+ events behind \(threshold 25\)/);
  t.is(posts(slack).length, 2);
  closed = true;
  // Its close used to race the lanes against a bare 10 s sleep, left pending once they had stopped.
  t.deepEqual(await timersLeftBy(() => stream.close()), [], 'timers left pending by the stopped stream');
});

test('without a security channel there is no notifier: the lag stays a log line and a metric', async (t) => {
  const config = loadConfig(testEnv('x', 'y', { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'a'.repeat(32) }), { require: ['mongo'] });
  t.is(await channelNotices(config, logger), null);
});

test('on Lark the same notice is a card in LARK_SECURITY_CHAT (red for the alert, green for the recovery)', async (t) => {
  const chat = 'oc_securitygroup01';
  const lark = new FakeLarkApi({ chats: [{ chatId: chat, mode: 'group', type: 'private', members: [] }] });
  await lark.start();
  t.teardown(() => lark.stop());
  const config = loadConfig(testEnv('x', 'y', {
    LARK_APP_ID: lark.appId, LARK_APP_SECRET: lark.appSecret, LARK_DOMAIN: lark.domain, LARK_SECURITY_CHAT: chat,
  }), { require: ['mongo'] });
  const notices = (await channelNotices(config, logger))!;
  const at = new Date('2026-12-03T08:00:00Z');
  await notices.notice(streamLagView({ sink: 'otlp', lag: 12_345, threshold: 10_000, recovered: false, at }, 'zh-CN'));
  await notices.notice(streamLagView({ sink: 'otlp', lag: 3, threshold: 10_000, recovered: true, at }, 'zh-CN'));
  const [alert, ok] = lark.sent().filter((m) => m.receiveId === chat);
  t.regex(JSON.stringify(alert?.card), /审计流告警：otlp 落后 12345 条/);
  t.regex(JSON.stringify(alert?.card), /"template":"red"/);
  t.regex(JSON.stringify(ok?.card), /审计流已恢复：otlp/);
  t.regex(JSON.stringify(ok?.card), /"template":"green"/);
});
