// LARK_* settings: the domain names Feishu, Lark or a custom URL; HTTP mode refuses to start without
// both the encrypt key and the verification token (the SDK would otherwise accept unsigned pushes); ws
// mode refuses an app id the SDK's long connection would silently refuse to use.
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import { isCustosError } from '../bot/core/errors.ts';

const base = { LARK_APP_ID: 'cli_a1b2c3d4e5f60718', LARK_APP_SECRET: 'secret-0123456789' };

test('LARK_DOMAIN selects Feishu (default), Lark or a custom URL', (t) => {
  t.is(loadConfig(base).lark!.domain, 'https://open.feishu.cn');
  t.is(loadConfig({ ...base, LARK_DOMAIN: 'lark' }).lark!.domain, 'https://open.larksuite.com');
  t.is(loadConfig({ ...base, LARK_DOMAIN: 'https://proxy.example.cn/' }).lark!.domain, 'https://proxy.example.cn');
  const err = t.throws(() => loadConfig({ ...base, LARK_DOMAIN: 'weixin' }));
  t.regex(err.message, /LARK_DOMAIN must be feishu, lark or an http\(s\) URL/);
});

test('http mode requires the encrypt key and the verification token; ws mode does not', (t) => {
  const err = t.throws(() => loadConfig(base, { require: ['lark'] }));
  t.true(isCustosError(err));
  t.regex(err.message, /LARK_ENCRYPT_KEY is required here/);
  t.regex(err.message, /LARK_VERIFICATION_TOKEN is required here/);
  const ws = loadConfig({ ...base, LARK_MODE: 'ws' }, { require: ['lark'] });
  t.is(ws.lark!.mode, 'ws');
  const http = loadConfig({ ...base, LARK_ENCRYPT_KEY: 'encrypt-key-123', LARK_VERIFICATION_TOKEN: 'verify-token-123' }, { require: ['lark'] });
  t.is(http.lark!.encryptKey, 'encrypt-key-123');
  t.is(http.lark!.httpPort, 3001);
});

test('ws mode takes only an app id the SDK\'s WSClient accepts (cli_ and 16 hex digits)', (t) => {
  t.is(loadConfig({ ...base, LARK_APP_ID: 'cli_a1b2c3d4e5f60718', LARK_MODE: 'ws' }, { require: ['lark'] }).lark!.appId, 'cli_a1b2c3d4e5f60718');
  const err = t.throws(() => loadConfig({ ...base, LARK_APP_ID: 'cli_testapp0001', LARK_MODE: 'ws' }, { require: ['lark'] }));
  t.true(isCustosError(err));
  t.regex(err.message, /LARK_APP_ID must be cli_ followed by 16 hex digits in LARK_MODE=ws/);
  t.is(loadConfig({ ...base, LARK_APP_ID: 'cli_testapp0001', LARK_ENCRYPT_KEY: 'encrypt-key-123', LARK_VERIFICATION_TOKEN: 'verify-token-123' }, { require: ['lark'] }).lark!.mode, 'http', 'http mode does not care');
});

test('a missing app id or secret names the setting and where to find it', (t) => {
  const err = t.throws(() => loadConfig({}, { require: ['lark'] }));
  t.regex(err.message, /LARK_APP_ID is required here; set LARK_APP_ID=cli_…/);
  t.regex(err.message, /LARK_APP_SECRET is required here/);
  t.is(loadConfig({}).lark, undefined);
});
