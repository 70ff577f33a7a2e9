// The query parser: every kind a user may type, purpose anywhere, help words, and refusals that never
// echo the input (it may be a phone or ID number).
import test from 'ava';
import fc from 'fast-check';
import { ErrorCode, isCustosError } from '../bot/core/errors.ts';
import { classify, parseCommand } from '../bot/core/query.ts';
import { errorView } from '../bot/core/views.ts';

const lookup = (text: string) => {
  const c = parseCommand(text);
  if (c.kind !== 'lookup') throw new Error(`expected a lookup for ${text}`);
  return c;
};

test('customer ids in any case, with or without the dash, become C-nnnnnn', (t) => {
  for (const s of ['C-000123', 'c-000123', 'C000123', ' C-000123 ', 'Ｃ-０００１２３']) {
    t.deepEqual(lookup(s).query, { kind: 'id', value: 'C-000123' }, s);
  }
});

test('mobile numbers with +86, 0086, 86 and separators normalise to 11 digits', (t) => {
  for (const s of ['13812345678', '+86 138 1234 5678', '+86-138-1234-5678', '0086 13812345678', '8613812345678', '138-1234-5678', '(138) 1234 5678', '１３８１２３４５６７８']) {
    t.deepEqual(lookup(s).query, { kind: 'phone', value: '13812345678' }, s);
  }
});

test('landlines keep their area code', (t) => {
  t.deepEqual(lookup('010-12345678').query, { kind: 'phone', value: '010-12345678' });
  t.deepEqual(lookup('0915 1234579').query, { kind: 'phone', value: '0915-1234579' });
  t.deepEqual(lookup('+86 10 1234 5678').query, { kind: 'phone', value: '010-12345678' });
  t.deepEqual(lookup('(021) 6123 4567').query, { kind: 'phone', value: '021-61234567' });
});

test('e-mail addresses are lower-cased; ID numbers get an upper-case X', (t) => {
  t.deepEqual(lookup('Zhang.Wei@Example.CN').query, { kind: 'email', value: 'zhang.wei@example.cn' });
  t.deepEqual(lookup('11010119900307451x').query, { kind: 'idNumber', value: '11010119900307451X' });
  t.deepEqual(lookup('110101199003074518').query, { kind: 'idNumber', value: '110101199003074518' });
});

test('names and company fragments in Chinese or Latin script are text queries', (t) => {
  for (const s of ['张伟', 'Wan', '王F', '欧阳娜娜', '星河科技', 'Emily Carter', "O'Brien & Sons", '上海河科医疗', '58同城']) {
    t.deepEqual(lookup(s).query, { kind: 'text', value: s }, s);
  }
});

test('purpose: may come after or before the query, in English or Chinese, with a full-width colon', (t) => {
  t.deepEqual(lookup('C-000123 purpose: renewal follow-up'), { kind: 'lookup', query: { kind: 'id', value: 'C-000123' }, purpose: 'renewal follow-up' });
  t.deepEqual(lookup('purpose: 续约跟进; 13812345678'), { kind: 'lookup', query: { kind: 'phone', value: '13812345678' }, purpose: '续约跟进' });
  t.deepEqual(lookup('张伟 目的：客户回访'), { kind: 'lookup', query: { kind: 'text', value: '张伟' }, purpose: '客户回访' });
  t.is(lookup('C-000123').purpose, undefined);
});

test('help words ask for help', (t) => {
  for (const s of ['help', 'HELP', '?', '帮助', ' usage ']) t.deepEqual(parseCommand(s), { kind: 'help' }, s);
});

test('empty, malformed and over-long queries are refused with a problem code, never echoing the input', (t) => {
  const cases: [string, string][] = [
    ['', 'empty'], ['   ', 'empty'], ['purpose: why', 'empty'], ['$where: 1', 'malformed'], ['{"$ne": null}', 'malformed'],
    ['12345', 'malformed'], ['张', 'too_short'], ['Wu', 'too_short'], ['C-000123 purpose:', 'purpose_empty'], ['x'.repeat(600), 'too_long'],
    ['13812345678 <script>', 'malformed'],
  ];
  for (const [input, problem] of cases) {
    const err = t.throws(() => parseCommand(input), undefined, input);
    t.true(isCustosError(err, ErrorCode.QueryInvalid), input);
    t.is((err as unknown as { details: { problem: string } }).details.problem, problem, input);
    if (input.trim()) t.false(err!.message.includes(input.trim()), 'the message does not echo the input');
  }
});

test('the usage help a refused query gets names the problem and shows how to ask, in both languages', (t) => {
  const err = (() => { try { parseCommand(''); } catch (e) { return e; } return undefined; })();
  const zh = errorView(err, 'zh-CN', '#sec');
  const en = errorView(err, 'en', '#sec');
  t.is(zh.kind, 'notice');
  t.regex(zh.kind === 'notice' ? zh.text : '', /请输入要查询的内容。.*用法：\/customer/);
  t.regex(en.kind === 'notice' ? en.text : '', /Please say what to look up\..*Usage: \/customer/);
});

test('fuzz: any input parses to a command or a QueryInvalid error; exact kinds are normalised', (t) => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
    try {
      const c = parseCommand(s);
      if (c.kind === 'lookup') {
        if (c.query.kind === 'id') return /^C-\d{6,9}$/.test(c.query.value);
        if (c.query.kind === 'phone') return /^(1[3-9]\d{9}|0\d{2,3}-\d{7,8})$/.test(c.query.value);
        if (c.query.kind === 'idNumber') return /^\d{17}[\dX]$/.test(c.query.value);
      }
      return true;
    } catch (err) {
      return isCustosError(err, ErrorCode.QueryInvalid);
    }
  }), { numRuns: 3000 });
  t.pass();
});

test('classify alone refuses operator-looking input', (t) => {
  t.throws(() => classify('{ $gt: "" }'));
  t.throws(() => classify('a.*'));
});
