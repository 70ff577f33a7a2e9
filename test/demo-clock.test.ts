// The small parts of the newcomer's path: the demo clock and its --at, the off-hours sentence, the
// settings file `--env-file` reads, the missing-settings hint, the ID-number check digit, value labels.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { demoClock, parseDemoTime, suggestedDemoTime } from '../bot/cli/demo-clock.ts';
import { configErrorHint, DEMO_ENV_FILE, parseEnvFile } from '../bot/cli/env-file.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { idNumberChecksumOk } from '../bot/core/query.ts';
import { piiKindLabel, valueLabel } from '../bot/core/value-labels.ts';
import { offHoursText } from '../bot/core/working-hours.ts';
import { withinWorkingHours } from '../policies/engine/hours.ts';

const HOURS = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '20:00' } as const;

test('--at needs a zone; the demo clock starts there and runs on at the real pace', (t) => {
  t.throws(() => parseDemoTime('2026-06-30T10:30'), { message: /with a zone/ });
  t.throws(() => parseDemoTime('yesterday'));
  const at = parseDemoTime('2026-06-30T10:30+08:00');
  let real = 1_000_000;
  const clock = demoClock(at, { now: () => new Date(real) });
  t.is(clock.now().toISOString(), '2026-06-30T02:30:00.000Z');
  real += 90_000;
  t.is(clock.now().toISOString(), '2026-06-30T02:31:30.000Z');
});

test('the suggested --at lies inside the working hours, whatever the hour now', (t) => {
  fc.assert(fc.property(fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }), (now) => {
    const at = parseDemoTime(suggestedDemoTime(now, HOURS, 'Asia/Shanghai'));
    return withinWorkingHours({ workingHours: { ...HOURS, days: [...HOURS.days] } }, 'Asia/Shanghai', at);
  }), { numRuns: 300 });
  t.pass();
});

test('an off-hours refusal states the days, hours, zone and the local time, in both languages', (t) => {
  const detail = { hours: HOURS, timezone: 'Asia/Shanghai', at: new Date('2026-06-30T15:30:00Z') };
  t.is(offHoursText(detail, 'zh-CN'), '当前不在您的工作时间内：您的工作时间为 Asia/Shanghai 时间周一至周五 08:00–20:00，当地现在是周二 23:30');
  t.is(offHoursText(detail, 'en'), 'it is outside your working hours, Mon–Fri 08:00–20:00 Asia/Shanghai time; it is now Tue 23:30 there');
});

test('settings files: NAME=value lines, comments and quotes; a bad line is named by number, not content', (t) => {
  t.deepEqual(parseEnvFile('# c\n\nA=1\nexport B="two words"\nC=\'x=y\'\n', 'f'), { A: '1', B: 'two words', C: 'x=y' });
  const err = t.throws(() => parseEnvFile('A=1\nsecret-key-material\n', 'demo.env'));
  t.is(err?.message, 'demo.env: line 2: expected NAME=value');
});

test('a missing setting points to the demo settings file when it exists, and not when --env-file was given', (t) => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'custos-hint-'));
  const err = new CustosError(ErrorCode.ConfigInvalid, 'invalid configuration');
  t.is(configErrorHint(err, ['audit', 'verify'], cwd), '');
  mkdirSync(path.dirname(path.join(cwd, DEMO_ENV_FILE)), { recursive: true });
  writeFileSync(path.join(cwd, DEMO_ENV_FILE), 'A=1\n');
  t.regex(configErrorHint(err, ['audit', 'verify'], cwd), /--env-file \.data\/demo\/demo\.env audit verify/);
  t.is(configErrorHint(err, ['--env-file', 'x', 'audit', 'verify'], cwd), '');
  t.is(configErrorHint(new Error('other'), ['audit'], cwd), '');
});

test('ID numbers: the ISO 7064 check digit', (t) => {
  t.true(idNumberChecksumOk('11010519491231002X'));
  t.false(idNumberChecksumOk('110105194912310021'));
  t.true(idNumberChecksumOk('440524188001010014'));
});

test('closed-set values and PII kinds are labelled in zh-CN; other values pass through', (t) => {
  t.is(valueLabel('type', 'person', 'zh-CN'), '个人');
  t.is(valueLabel('region', 'east', 'zh-CN'), '华东');
  t.is(valueLabel('status', 'churned', 'zh-CN'), '已流失');
  t.is(valueLabel('stage', 'proposal', 'zh-CN'), '方案报价');
  t.is(valueLabel('paymentStatus', 'settled', 'zh-CN'), '已结清');
  t.is(valueLabel('paymentStatus', 'settled', 'en'), 'settled');
  t.is(valueLabel('name', 'east', 'zh-CN'), 'east');
  t.is(piiKindLabel('mobile number', 'zh-CN'), '手机号');
});
