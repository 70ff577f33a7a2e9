// `custos sync` as a real process: status before and after pushed data, a run of a push source (nothing
// to pull, audited), an unknown source, and a broken mapping stopping the source with what to fix.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { runCli } from './helpers/run-custos.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const fixtures = fileURLToPath(new URL('./fixtures/sync/', import.meta.url));

test('sync status, sync run of a push source, an unknown source and a broken mapping', async (t) => {
  const db = await testDatabase(import.meta.url);
  t.teardown(db.drop);
  const prefix = uniqueName(import.meta.url, 'prefix');
  t.teardown(() => dropPrefix(prefix));
  const env = testEnv(db.name, prefix, { CUSTOS_SYNC_SOURCES: 'erp', CUSTOS_SYNC_MAPPINGS: fixtures, CUSTOS_SYNC_PUSH_SECRET_ERP: 'p'.repeat(40) });

  const before = await runCli(['sync', 'status'], env);
  t.is(before.code, 0, before.stderr);
  t.regex(before.stdout, /^erp: cursor \(start\) \(move 0\), lag never synced, last error none\n {2}totals: 0 upserted, 0 unchanged, 0 deleted, 0 rejected\n$/);

  const run = await runCli(['sync', 'run', 'erp'], env);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^sync erp: 1 page\(s\), 0 upserted, 0 unchanged, 0 deleted, 0 rejected\n/);
  const after = await runCli(['sync', 'status'], env);
  t.regex(after.stdout, /^erp: cursor \(start\) \(move 1\), lag \d+s, last error none/);

  const unknown = await runCli(['sync', 'run', 'salesforce'], env);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /no sync source "salesforce": CUSTOS_SYNC_SOURCES lists erp/);

  const broken = await runCli(['sync', 'run', 'alpha'], { ...env, CUSTOS_SYNC_SOURCES: 'alpha', CUSTOS_SYNC_MAPPINGS: `${fixtures}mappings-bad`, CUSTOS_SYNC_PUSH_SECRET_ERP: '', CUSTOS_SYNC_PUSH_SECRET_ALPHA: 'p'.repeat(40) });
  t.not(broken.code, 0);
  t.regex(broken.stderr, /alpha\.yaml.*fields\.nickname: is not a custos customer field/s);
});
