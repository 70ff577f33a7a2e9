// Field encryption, key rotation, tamper detection and the normalisation behind the blind indexes.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import {
  FieldCipher, idCheckChar, idNumberProblem, isLuhnValid, isValidPhone, normaliseEmail, normaliseIdNumber, normalisePhone,
} from '../bot/store/crypto.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';

const key = () => randomBytes(32);
const bik = key();

function cipherWith(...keys: [string, Buffer][]): FieldCipher {
  return new FieldCipher({ dataKeys: keys.map(([id, k]) => ({ id, key: k })), blindIndexKey: bik });
}

test('a value round-trips, and the stored form shows neither the value nor a fixed ciphertext', (t) => {
  const c = cipherWith(['k1', key()]);
  const a = c.encrypt('13812345678', 'C-000001:phone');
  const b = c.encrypt('13812345678', 'C-000001:phone');
  t.is(c.decrypt(a, 'C-000001:phone'), '13812345678');
  t.not(a, b, 'a fresh IV per value');
  t.false(a.includes('13812345678'));
  t.true(a.startsWith('k1:'));
  t.is(FieldCipher.keyIdOf(a), 'k1');
  t.is(c.decrypt(c.encrypt('北京市海淀区中关村大街1号', 'C-1:address'), 'C-1:address'), '北京市海淀区中关村大街1号');
});

test('after a new key is prepended, old values still decrypt and new values use the new key', (t) => {
  const oldKey = key();
  const before = cipherWith(['k1', oldKey]);
  const stored = before.encrypt('zhang@example.com', 'C-000002:email');
  const after = cipherWith(['k2', key()], ['k1', oldKey]);
  t.is(after.decrypt(stored, 'C-000002:email'), 'zhang@example.com');
  t.is(FieldCipher.keyIdOf(after.encrypt('x', 'C-000002:email')), 'k2');
});

test('a value under a key that is no longer configured is refused with CryptoKeyUnknown', (t) => {
  const stored = cipherWith(['k1', key()]).encrypt('6222020200112233445', 'C-3:bankAccount');
  const err = t.throws(() => cipherWith(['k2', key()]).decrypt(stored, 'C-3:bankAccount'), { instanceOf: CustosError });
  t.is(err?.code, ErrorCode.CryptoKeyUnknown);
  t.false(err?.message.includes('6222020200112233445'));
});

test('tampered ciphertext, tag, or a value moved to another record or field is refused with CryptoTampered', (t) => {
  const c = cipherWith(['k1', key()]);
  const stored = c.encrypt('13812345678', 'C-000001:phone');
  const [id, iv, tag, ct] = stored.split(':') as [string, string, string, string];
  const flipped = Buffer.from(ct, 'base64');
  flipped[0] = flipped[0]! ^ 1;
  const cases = [
    `${id}:${iv}:${tag}:${flipped.toString('base64')}`,
    `${id}:${iv}:${Buffer.alloc(16).toString('base64')}:${ct}`,
    `${id}:${iv}:${tag}`,
  ];
  for (const bad of cases) {
    t.is(t.throws(() => c.decrypt(bad, 'C-000001:phone'), { instanceOf: CustosError })?.code, ErrorCode.CryptoTampered);
  }
  t.is(t.throws(() => c.decrypt(stored, 'C-000002:phone'), { instanceOf: CustosError })?.code, ErrorCode.CryptoTampered);
  t.is(t.throws(() => c.decrypt(stored, 'C-000001:email'), { instanceOf: CustosError })?.code, ErrorCode.CryptoTampered);
});

test('phone spellings normalise to one value: country code, separators, full-width digits', (t) => {
  for (const s of ['+86 138-1234-5678', '86 13812345678', '138 1234 5678', '13812345678', '１３８１２３４５６７８', '0086 138.1234.5678', '(+86) 138 1234 5678']) {
    t.is(normalisePhone(s), '13812345678', s);
  }
  for (const s of ['010-12345678', '(010) 1234 5678', '+86 10 1234 5678', '0086-10-12345678']) t.is(normalisePhone(s), '01012345678', s);
  t.is(normalisePhone('+86 915 1234567'), '09151234567');
  t.is(normalisePhone('+1 (415) 555-0100'), '+14155550100');
  t.true(isValidPhone('+86 138-1234-5678'));
  t.true(isValidPhone('0915-1234567'));
  t.false(isValidPhone('12345'));
  t.false(isValidPhone('12812345678'), 'no Chinese mobile starts with 12');
});

test('blind indexes match across spellings, differ across kinds and keys', (t) => {
  const c = cipherWith(['k1', key()]);
  t.is(c.blindIndexOf('phone', '+86 138-1234-5678'), c.blindIndexOf('phone', '１３８ １２３４ ５６７８'));
  t.is(c.blindIndexOf('email', '  Zhang.Wei@Example.COM '), c.blindIndexOf('email', 'zhang.wei@example.com'));
  t.is(c.blindIndexOf('idNumber', '11010119900307 123x'), c.blindIndexOf('idNumber', '11010119900307123X'));
  t.not(c.blindIndexOf('phone', '13812345678'), c.blindIndexOf('phone', '13812345679'));
  t.not(c.blindIndex('phone', 'x'), c.blindIndex('email', 'x'));
  const other = new FieldCipher({ dataKeys: [{ id: 'k1', key: key() }], blindIndexKey: key() });
  t.not(other.blindIndexOf('phone', '13812345678'), c.blindIndexOf('phone', '13812345678'));
  t.is(normaliseEmail(' A@B.CN '), 'a@b.cn');
  t.is(normaliseIdNumber('１１０１０１ 1990 0307 123x'), '11010119900307123X');
});

test('resident IDs: check character and birth date are validated', (t) => {
  const first17 = '11010519491231002';
  const id = first17 + idCheckChar(first17);
  t.is(id, '11010519491231002X'); // the textbook example from GB 11643
  t.is(idNumberProblem(id), null);
  t.is(idNumberProblem(id.toLowerCase()), null);
  t.regex(idNumberProblem('110105194912310021') ?? '', /check character/);
  t.regex(idNumberProblem('110105194902310021') ?? '', /birth date/);
  t.regex(idNumberProblem('1101051949') ?? '', /18 characters/);
  t.true(isLuhnValid('4111111111111111'));
  t.false(isLuhnValid('4111111111111112'));
});

test('a configuration without keys is refused', (t) => {
  t.throws(() => new FieldCipher({ dataKeys: [], blindIndexKey: bik }), { instanceOf: CustosError });
});
