// A pulled CRM source falling behind as the security channel sees it: once its lag (time since its last
// good run) passes CUSTOS_SYNC_LAG_ALERT, ONE message reaches the Slack security channel however many
// failed runs follow; after a good run, ONE recovery message. The default threshold is three intervals.
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import { loadSyncConfig } from '../bot/config-sync.ts';
import { createLogger } from '../bot/logger.ts';
import { channelNotices } from '../bot/runtime/security-notices.ts';
import { SyncLagWatch } from '../bot/sync/lag-watch.ts';
import { SyncStore } from '../bot/sync/sync-store.ts';
import { FakeSlackApi } from './fakes/slack-api.ts';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const SECURITY = 'C0SECURITY';
const logger = createLogger({ level: 'silent' });
const counts = { upserted: 0, unchanged: 0, deleted: 0, rejected: 0 };

test('CUSTOS_SYNC_LAG_ALERT defaults to three sync intervals and refuses nonsense', (t) => {
  t.is(loadSyncConfig({ CUSTOS_SYNC_INTERVAL: '120' }).lagAlertSeconds, 360);
  t.is(loadSyncConfig({ CUSTOS_SYNC_INTERVAL: '120', CUSTOS_SYNC_LAG_ALERT: '900' }).lagAlertSeconds, 900);
  const bad = t.throws(() => loadSyncConfig({ CUSTOS_SYNC_LAG_ALERT: 'soon' }));
  t.regex(bad.message, /CUSTOS_SYNC_LAG_ALERT must be a number of seconds/);
});

test('a source past the lag threshold: one message to the security channel per crossing, and one when it recovers', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const slack = new FakeSlackApi({ channels: [{ id: SECURITY, members: [] }] });
  await slack.start();
  t.teardown(() => slack.stop());
  const config = loadConfig(testEnv(db.name, uniqueName(import.meta.url, 'prefix'), {
    SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: 'a'.repeat(32), SLACK_API_URL: slack.apiUrl, SLACK_API_RETRIES: '0',
    CUSTOS_SECURITY_CHANNEL: SECURITY, CUSTOS_LOCALE: 'en',
  }), { require: ['mongo'] });
  const store = new SyncStore(db.conn);
  await store.ensureIndexes();
  let now = new Date('2026-06-01T08:00:00Z');
  const watch = new SyncLagWatch({ store, notices: await channelNotices(config, logger), locale: 'en', clock: { now: () => now }, logger, thresholdSeconds: 900 });
  const posts = () => slack.callsTo('chat.postMessage').filter((c) => c.ok && c.body.channel === SECURITY);
  const run = async (minutes: number, error: string | null) => {
    now = new Date(now.getTime() + minutes * 60_000);
    await store.recordRun('salesforce', now, counts, error);
    await watch.check('salesforce');
  };

  await run(0, null);
  await run(5, 'SYNC_SOURCE_FAILED');
  await run(5, 'SYNC_SOURCE_FAILED');
  t.is(posts().length, 0, '10 minutes behind, under the 15-minute threshold: nothing told');
  await run(6, 'SYNC_SOURCE_FAILED');
  const alert = await slack.waitFor((c) => c.method === 'chat.postMessage' && c.ok && String(c.body.text).startsWith('CRM sync alert'));
  t.is(String(alert.body.text), 'CRM sync alert: salesforce has not synced for 16 min');
  const blocks = JSON.stringify(alert.body.blocks);
  t.regex(blocks, /longer ago than the threshold of 900 s \(CUSTOS_SYNC_LAG_ALERT\)/);
  t.regex(blocks, /custos_sync_lag_seconds\{source=\\"salesforce\\"\}/);
  t.false(/E-\d|@/.test(blocks), 'source names only');

  await run(5, 'SYNC_SOURCE_FAILED');
  await run(5, 'SYNC_SOURCE_FAILED');
  t.is(posts().length, 1, 'one message per crossing, not one per failed run');
  await run(5, null);
  const ok = await slack.waitFor((c) => c.method === 'chat.postMessage' && c.ok && String(c.body.text).startsWith('CRM sync recovered'));
  t.is(String(ok.body.text), 'CRM sync recovered: salesforce');
  t.regex(JSON.stringify(ok.body.blocks), /salesforce synced successfully again \(threshold 900 s\)/);
  await run(5, null);
  t.is(posts().length, 2, 'and one recovery');

  // A second crossing is told again.
  await run(20, 'SYNC_SOURCE_FAILED');
  await slack.waitFor(() => posts().length === 3);
  t.regex(String(posts()[2]!.body.text), /^CRM sync alert: salesforce has not synced for 20 min$/);
});

test('the Chinese alert text', async (t) => {
  const { syncLagView } = await import('../bot/core/security/notices.ts');
  const v = syncLagView({ source: 'jiandaoyun', lagSeconds: 1800, threshold: 900, recovered: false, at: new Date(0) }, 'zh-CN');
  t.is(v.title, 'CRM 同步告警：jiandaoyun 已 30 分钟未成功同步');
  t.regex(v.lines[0]!, /阈值 900 秒（CUSTOS_SYNC_LAG_ALERT）/);
});
