// The logger's redaction is the safety net behind "no secrets or customer values in logs": whatever a
// caller hands it under a sensitive key — top level, one or two levels down — comes out as [redacted],
// while ids and codes an operator needs stay readable.
import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../bot/logger.ts';

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[]; raw: () => string } {
  const out: string[] = [];
  const destination = new Writable({ write(chunk: Buffer, _enc, cb) { out.push(chunk.toString()); cb(); } });
  return {
    logger: createLogger({ level: 'trace', name: 'test', destination }),
    lines: () => out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
    raw: () => out.join(''),
  };
}

const CUSTOMER = {
  name: '欧阳娜娜', phone: '13912345678', email: 'nana.canary@example.cn', idNumber: '110101199003074518',
  bankAccount: '6222020200112233445', address: '上海市徐汇区漕溪北路88号', company: '深圳河科电子有限公司', wechat: 'nana_wx_88',
  birthDate: '1990-03-07',
};
const SECRETS = {
  token: 'xoxb-1111-2222-secret', signingSecret: 'slack-signing-secret-value', appSecret: 'lark-app-secret-value',
  encryptKey: 'lark-encrypt-key-value', verificationToken: 'lark-verification-token', authorization: 'Bearer abc.def.ghi',
  password: 'hunter2-password', hmacKey: 'aG1hYy1rZXktYmFzZTY0', signingKey: 'c2lnbmluZy1rZXk=',
  uri: 'mongodb://admin:pw@db:27017', url: 'redis://:pw@redis:6379',
};

test('customer values are redacted at the top level and one or two levels down', (t) => {
  const { logger, raw } = capture();
  logger.info(CUSTOMER, 'top');
  logger.info({ customer: CUSTOMER }, 'nested');
  logger.info({ req: { customer: CUSTOMER } }, 'deeper');
  logger.warn({ query: '13912345678', text: '/customer 欧阳娜娜' }, 'query text');
  const all = raw();
  for (const [field, value] of Object.entries(CUSTOMER)) t.false(all.includes(value), `${field} leaked`);
  t.false(all.includes('13912345678'));
  t.false(all.includes('欧阳'));
  t.regex(all, /\[redacted\]/);
});

test('secrets and connection strings are redacted wherever a config object puts them', (t) => {
  const { logger, raw } = capture();
  logger.info(SECRETS, 'flat');
  logger.info({ config: { slack: SECRETS } }, 'config');
  const all = raw();
  for (const [key, value] of Object.entries(SECRETS)) t.false(all.includes(value), `${key} leaked`);
});

test('ids, codes and the component stay readable; the message is kept', (t) => {
  const { logger, lines } = capture();
  logger.info({ employeeId: 'E-0012', customerId: 'C-000001', code: 'custos_audit_unavailable', customer: { phone: '13912345678' } }, 'lookup refused');
  const [line] = lines();
  t.like(line, { employeeId: 'E-0012', customerId: 'C-000001', code: 'custos_audit_unavailable', component: 'test', msg: 'lookup refused' });
  t.deepEqual(line!.customer, { phone: '[redacted]' });
});

test('a part of the process logs under `module`: no key repeats in a line', (t) => {
  const { logger, raw } = capture();
  logger.child({ module: 'bolt' }).warn('socket reconnecting');
  const line = raw().trim();
  t.is(line.match(/"component":/g)?.length, 1);
  t.like(JSON.parse(line) as Record<string, unknown>, { component: 'test', module: 'bolt' });
});
