import test from 'ava';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../bot/config.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { runCli } from './helpers/run-custos.ts';
import { randomKey } from './helpers/services.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof CustosError && err.code === ErrorCode.ConfigInvalid) return err.details.problems as string[];
    throw err;
  }
  return [];
}

test('a complete configuration parses into typed sections', (t) => {
  const cfg = loadConfig({
    MONGODB_URI: 'mongodb://127.0.0.1:27017', REDIS_URL: 'redis://127.0.0.1:6379',
    CUSTOS_DATA_KEYS: `k2:${randomKey()},k1:${randomKey()}`, CUSTOS_BLIND_INDEX_KEY: randomKey(),
    CUSTOS_AUDIT_HMAC_KEY: randomKey(), CUSTOS_AUDIT_SIGNING_KEY: randomKey(), HTTP_PORT: '8080',
  }, { require: ['mongo', 'redis', 'crypto', 'audit'] });
  t.is(cfg.mongo?.db, 'custos');
  t.is(cfg.http.port, 8080);
  t.deepEqual(cfg.crypto?.dataKeys.map((k) => k.id), ['k2', 'k1']);
  t.is(cfg.crypto?.blindIndexKey.length, 32);
  t.is(cfg.defaultLocale, 'zh-CN');
});

test('every problem is listed at once, each with how to fix it', (t) => {
  const problems = problemsOf(() => loadConfig({
    MONGODB_URI: 'postgres://x', HTTP_PORT: '99999', CUSTOS_DATA_KEYS: 'k1:short', LOG_LEVEL: 'loud',
  }, { require: ['mongo', 'redis', 'crypto'] }));
  t.true(problems.some((p) => p.includes('MONGODB_URI must start with mongodb://')), problems.join('\n'));
  t.true(problems.some((p) => p.startsWith('HTTP_PORT')));
  t.true(problems.some((p) => p.includes('CUSTOS_DATA_KEYS') && p.includes('openssl rand -base64 32')));
  t.true(problems.some((p) => p.startsWith('LOG_LEVEL')));
  t.true(problems.some((p) => p.includes('REDIS_URL is required') && p.includes('npm run services')));
  t.true(problems.some((p) => p.includes('CUSTOS_BLIND_INDEX_KEY is required')));
  t.true(problems.length >= 6);
});

test('a port is digits: hexadecimal, exponents, blanks and numbers past 65535 are refused, not read as some other port', (t) => {
  const port = (v: string) => problemsOf(() => loadConfig({ HTTP_PORT: v }, { require: [] })).filter((p) => p.startsWith('HTTP_PORT'));
  for (const bad of ['0x1F90', '1e3', '   ', '65536', '-1', '80.5']) t.deepEqual(port(bad), ['HTTP_PORT must be a port number (0-65535)'], bad);
  t.is(loadConfig({ HTTP_PORT: ' 8080 ' }, { require: [] }).http.port, 8080);
  t.is(loadConfig({ HTTP_PORT: '0' }, { require: [] }).http.port, 0);
});

test('sections a command does not need are not demanded', (t) => {
  const cfg = loadConfig({});
  t.is(cfg.mongo, undefined);
  t.is(cfg.policyDir, 'policies');
});

test('secrets can come from *_FILE, but not from both places', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-cfg-'));
  const file = path.join(dir, 'bik');
  const key = randomKey();
  writeFileSync(file, `${key}\n`);
  const cfg = loadConfig({ CUSTOS_BLIND_INDEX_KEY_FILE: file, CUSTOS_DATA_KEYS: `k1:${randomKey()}` }, { require: ['crypto'] });
  t.deepEqual(cfg.crypto?.blindIndexKey, Buffer.from(key, 'base64'));
  const both = problemsOf(() => loadConfig({ CUSTOS_BLIND_INDEX_KEY_FILE: file, CUSTOS_BLIND_INDEX_KEY: key }));
  t.true(both.some((p) => p.includes('set only one')));
  const missing = problemsOf(() => loadConfig({ REDIS_URL_FILE: path.join(dir, 'nope') }));
  t.true(missing.some((p) => p.includes('REDIS_URL_FILE') && p.includes('cannot be read')));
});

test('duplicate data key ids are refused', (t) => {
  const k = randomKey();
  const problems = problemsOf(() => loadConfig({ CUSTOS_DATA_KEYS: `a:${k},a:${k}` }));
  t.true(problems.some((p) => p.includes('twice')));
});

test('encryption settings: search-token key, key cache bounds and the erasure list, with defaults and clear refusals', (t) => {
  const base = { CUSTOS_DATA_KEYS: `k1:${randomKey()}`, CUSTOS_BLIND_INDEX_KEY: randomKey() };
  const defaults = loadConfig(base, { require: ['crypto'] }).crypto!;
  t.like(defaults, { keyCacheSize: 10_000, keyCacheSeconds: 300, erasureList: '.data/erasures.txt' });
  t.is(defaults.searchTokenKey, undefined, 'derived from the blind-index key when not given');
  const set = loadConfig({ ...base, CUSTOS_SEARCH_TOKEN_KEY: randomKey(), CUSTOS_KEY_CACHE_SIZE: '0', CUSTOS_KEY_CACHE_SECONDS: '60', CUSTOS_ERASURE_LIST: '/var/lib/custos/erasures.txt' }, { require: ['crypto'] }).crypto!;
  t.like(set, { keyCacheSize: 0, keyCacheSeconds: 60, erasureList: '/var/lib/custos/erasures.txt' });
  t.is(set.searchTokenKey?.length, 32);
  const problems = problemsOf(() => loadConfig({ ...base, CUSTOS_SEARCH_TOKEN_KEY: 'short', CUSTOS_KEY_CACHE_SIZE: '-1', CUSTOS_KEY_CACHE_SECONDS: '0' }));
  t.true(problems.some((p) => p.includes('CUSTOS_SEARCH_TOKEN_KEY must be 32 random bytes')), problems.join('\n'));
  t.true(problems.some((p) => p.includes('CUSTOS_KEY_CACHE_SIZE must be 0 (no cache) to 1000000')));
  t.true(problems.some((p) => p.includes('CUSTOS_KEY_CACHE_SECONDS must be 1-3600')));
});

test('custos start --only worker (or a bot) reports every problem at once before starting: shared settings, the sync\'s, and those of DingTalk, which the workers chat on', async (t) => {
  const env = {
    REDIS_URL: 'redis://127.0.0.1:1', CUSTOS_AUDIT_HMAC_KEY: randomKey(), CUSTOS_AUDIT_SIGNING_KEY: randomKey(),
    DINGTALK_APP_KEY: 'dingtestappkey0001', DINGTALK_APP_SECRET: 'short', CUSTOS_SYNC_INTERVAL: 'often',
  };
  for (const part of ['worker', 'dingtalk']) {
    const r = await runCli(['start', '--only', part], env);
    t.not(r.code, 0);
    t.regex(r.stderr, /invalid configuration \(\d+ problems\)/, part);
    t.regex(r.stderr, /MONGODB_URI is required/, part);
    t.regex(r.stderr, /DINGTALK_APP_SECRET looks too short/, part);
    t.regex(r.stderr, /DINGTALK_CARD_TEMPLATE_ID is required/, part);
    t.regex(r.stderr, /CUSTOS_SYNC_INTERVAL/, part);
  }
});
