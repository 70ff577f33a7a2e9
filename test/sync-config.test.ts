// The sync configuration section and the setup built from it: every problem at once with how to fix it;
// mapping files checked together; a source without a connector must be a push source.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { loadSyncConfig } from '../bot/config-sync.ts';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { createLogger } from '../bot/logger.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { buildSync } from '../bot/sync/setup.ts';
import { PUSH_PATH } from '../bot/sync/push-route.ts';
import { testDatabase } from './helpers/services.ts';

const dir = (p: string) => fileURLToPath(new URL(`./fixtures/sync/${p}`, import.meta.url));
const SECRET = 'a'.repeat(40);

test('defaults: no sources, sync off', (t) => {
  const c = loadSyncConfig({});
  t.deepEqual(c.sources, []);
  t.is(c.intervalSeconds, 300);
  t.is(c.reconcileSeconds, 3600);
  t.is(c.pushStaleSeconds, 600, 'a push batch cut short is taken over after ten minutes');
  t.is(loadSyncConfig({ CUSTOS_SYNC_PUSH_STALE_AFTER: '30' }).pushStaleSeconds, 30);
});

test('every sync problem is reported at once, each with how to fix it', (t) => {
  const err = t.throws(() => loadSyncConfig({
    CUSTOS_SYNC_SOURCES: 'erp,Sales Force,erp', CUSTOS_SYNC_INTERVAL: '2', CUSTOS_SYNC_RECONCILE_INTERVAL: 'hourly',
    CUSTOS_SYNC_PUSH_SECRET_OTHER: SECRET, CUSTOS_SYNC_PUSH_STALE_AFTER: '1',
  }));
  t.true(isCustosError(err, ErrorCode.ConfigInvalid));
  for (const p of [/"Sales Force" is not a source name/, /names a source twice/, /CUSTOS_SYNC_INTERVAL must be at least 10 seconds/, /CUSTOS_SYNC_RECONCILE_INTERVAL must be a number of seconds/, /CUSTOS_SYNC_PUSH_STALE_AFTER must be at least 5 seconds/]) t.regex(err!.message, p);
});

test('push secrets: per source, at least 32 characters, and none for an unknown source', (t) => {
  const c = loadSyncConfig({ CUSTOS_SYNC_SOURCES: 'erp,big-crm', CUSTOS_SYNC_PUSH_SECRET_ERP: SECRET, CUSTOS_SYNC_PUSH_SECRET_BIG_CRM: SECRET });
  t.deepEqual([...c.pushSecrets.keys()], ['erp', 'big-crm']);
  const err = t.throws(() => loadSyncConfig({ CUSTOS_SYNC_SOURCES: 'erp', CUSTOS_SYNC_PUSH_SECRET_ERP: 'short', CUSTOS_SYNC_PUSH_SECRET_CRM: SECRET }));
  t.regex(err!.message, /CUSTOS_SYNC_PUSH_SECRET_ERP must be at least 32 characters/);
  t.regex(err!.message, /CUSTOS_SYNC_PUSH_SECRET_CRM is set but no source/);
});

test('setup: mapping problems of every source at once; a source without connector or push secret is refused', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const deps = { conn: db.conn, cipher: new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 1) }], blindIndexKey: Buffer.alloc(32, 2) }), recorder: { record: async () => undefined }, clock: { now: () => new Date() }, logger: createLogger({ level: 'silent' }) };
  const bad = await t.throwsAsync(buildSync(loadSyncConfig({ CUSTOS_SYNC_SOURCES: 'alpha,beta,gamma', CUSTOS_SYNC_MAPPINGS: dir('mappings-bad') }), deps));
  t.true(isCustosError(bad, ErrorCode.SyncMappingInvalid));
  t.regex(bad!.message, /alpha\.yaml.*fields\.nickname/);
  t.regex(bad!.message, /gamma\.yaml cannot be read/);
  const noConnector = await t.throwsAsync(buildSync(loadSyncConfig({ CUSTOS_SYNC_SOURCES: 'beta', CUSTOS_SYNC_MAPPINGS: dir('mappings-bad') }), deps));
  t.regex(noConnector!.message, /beta have no connector; give each a push secret \(CUSTOS_SYNC_PUSH_SECRET_<SOURCE>\)/);
  const ok = await buildSync(loadSyncConfig({ CUSTOS_SYNC_SOURCES: 'erp', CUSTOS_SYNC_MAPPINGS: dir(''), CUSTOS_SYNC_PUSH_SECRET_ERP: SECRET }), deps);
  t.deepEqual(ok.routes.map((r) => ('path' in r ? [r.method, r.path] : [r.methods, r.prefix])), [['POST', PUSH_PATH('erp')]]);
});
