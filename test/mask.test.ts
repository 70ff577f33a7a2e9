// Every mask preset, its stricter and looser variants, and the unusual input that must never leak.
import test from 'ava';
import { mask, PRESET_NAMES, MASKED, REDACTED, presetInfo } from '../policies/mask/index.ts';

const cases: [string, unknown, string][] = [
  // mobile: +86, separators, full-width digits
  ['mobile', '13800135678', '138****5678'],
  ['mobile', '+86 138-0013-5678', '138****5678'],
  ['mobile', '0086 13800135678', '138****5678'],
  ['mobile', '（138）0013 5678', '138****5678'],
  ['mobile', '１３８００１３５６７８', '138****5678'],
  ['mobile.strict', '+86 13800135678', '*******5678'],
  ['mobile.loose', '+86 138 0013 5678', '13800135678'],
  ['mobile', 13800135678, '138****5678'],
  // landline: area code + last 2
  ['landline', '0915-1234579', '0915*****79'],
  ['landline', '010-88881234', '010******34'],
  ['landline', '+86 10 8888 1234', '010******34'],
  ['landline.strict', '0915-1234579', '0915*******'],
  ['landline.loose', '(0915) 1234579', '09151234579'],
  ['phone', '13800135678', '138****5678'],
  ['phone', '021-55556666', '021******66'],
  ['phone.strict', '021-55556666', '021********'],
  // resident ID: birth date digits always hidden
  ['id', '110101199003071234', '110101********1234'],
  ['id', '11010119900307123x', '110101********123X'],
  ['id', '110101900307123', '110101*****7123'],
  ['id.strict', '110101199003071234', '1***************34'],
  ['id.loose', '110101 19900307 1234', '110101199003071234'],
  // bank card 16-19 digits
  ['bankcard', '6222 0212 3456 7890', '622202******7890'],
  ['bankcard', '6222021234567890123', '622202*********0123'],
  ['bankcard.strict', '6222021234567890', '************7890'],
  ['bankcard.loose', '6222021234567890', '6222********7890'],
  // names
  ['name', '张三', '张*'],
  ['name', '张三丰', '张**'],
  ['name', '欧阳娜娜', '欧阳**'],
  ['name', '司马光', '司马*'],
  ['name', '欧阳', '欧*'],
  ['name', '张', '*'],
  ['name', 'John Smith', 'J*** S***'],
  ['name', 'Mary Ann Smith', 'M*** S***'],
  ['name', 'Madonna', 'M***'],
  ['name', '𠀋龙', '𠀋*'],
  ['name.strict', '欧阳娜娜', '*'],
  ['name.loose', ' 欧阳娜娜 ', '欧阳娜娜'],
  // e-mail
  ['email', 'dave@126.com', 'd***@126.com'],
  ['email.strict', 'dave@126.com', '***@126.com'],
  ['email.loose', 'dave.li@126.com', 'dav***@126.com'],
  ['email.loose', 'ab@126.com', 'a***@126.com'],
  ['email', 'd@126.com', '***@126.com'],
  ['email', '𝒹ave@126.com', 'd***@126.com'],
  // address to district
  ['address', '北京市海淀区中关村大街1号', '北京市海淀区****'],
  ['address', '广东省深圳市南山区科技园路8号', '广东省深圳市南山区****'],
  ['address', '新疆维吾尔自治区乌鲁木齐市天山区人民路1号', '新疆维吾尔自治区乌鲁木齐市天山区****'],
  ['address.strict', '广东省深圳市南山区科技园路8号', '广东省深圳市****'],
  ['address.strict', '北京市海淀区中关村大街1号', '北京市****'],
  ['address.loose', '北京市海淀区中关村大街1号', '北京市海淀区中关村大街1号'],
  ['address', '221B Baker Street, London', MASKED],
  ['address', '1号楼3区', MASKED],
  // birth date
  ['birthdate', '1990-08-15', '****-08-15'],
  ['birthdate', new Date('1990-08-15T00:00:00Z'), '****-08-15'],
  ['birthdate.strict', '1990-08-15', '****-**-**'],
  ['birthdate.loose', '1990/08/15', '1990-08-15'],
  ['birthdate', '1990-13-15', '****-**-**'],
  // amount bands
  ['amount', 123_456, '¥10万–50万'],
  ['amount', 9_999, '¥0–1万'],
  ['amount', 10_000, '¥1万–5万'],
  ['amount', 50_000_000, '¥1000万以上'],
  ['amount', -20_000, '−¥1万–5万'],
  ['amount.strict', 123_456, REDACTED],
  ['amount.loose', 123_456.5, '¥123,456.5'],
  // timestamps, lists, redact
  ['month', new Date('2026-05-17T10:00:00Z'), '2026-05'],
  ['count', [{ at: new Date(), by: 'E-1', note: 'called' }, { at: new Date(), by: 'E-2', note: 'x' }], '(2)'],
  ['redact', 'anything', REDACTED],
];

for (const [preset, value, expected] of cases) {
  test(`${preset}: ${String(value instanceof Date ? value.toISOString() : JSON.stringify(value))}`, (t) => {
    t.is(mask(value, preset), expected);
  });
}

// Input a preset does not recognise keeps nothing, whatever the strength (except the loose
// "full" variants, which show what they were given, by definition).
const unusual: unknown[] = [
  '', ' ', '1', '138', '1380013567', '138001356789', '١٣٨٠٠١٣٥٦٧٨' /* Arabic-Indic digits */, '😀😀😀😀😀😀😀😀😀😀😀',
  'abc@', '@126.com', 'a@b@c.com', 'dave@例子.公司', '\u0000\u0001', NaN, Infinity, {}, [], [1, 2], new Date('x'), true,
];
const keepsNothing: Record<string, string[]> = {
  mobile: [MASKED], 'mobile.strict': [MASKED], landline: [MASKED], 'landline.strict': [MASKED], phone: [MASKED], 'phone.strict': [MASKED],
  id: [MASKED], 'id.strict': [MASKED], bankcard: [MASKED], 'bankcard.strict': [MASKED], 'bankcard.loose': [MASKED],
  email: [REDACTED], 'email.strict': [REDACTED], 'email.loose': [REDACTED],
  'birthdate': ['****-**-**'], 'birthdate.strict': ['****-**-**'], 'amount': [REDACTED, '¥0–1万', '¥1000万以上'], 'amount.strict': [REDACTED],
  month: ['****-**'], redact: [REDACTED],
};
for (const [preset, allowed] of Object.entries(keepsNothing)) {
  test(`${preset} keeps nothing of unusual input`, (t) => {
    for (const value of unusual) t.true(allowed.includes(mask(value, preset)), `${preset} on ${String(value)} gave ${mask(value, preset)}`);
  });
}

test('names of odd shape never keep more than one initial (or a surname)', (t) => {
  t.is(mask('', 'name'), '*');
  t.is(mask('   ', 'name'), '*');
  t.is(mask(42, 'name'), REDACTED);
  t.is(mask('😀Smith', 'name'), '😀***'); // surrogate pair kept whole, not split
  t.is(mask('张Alex', 'name'), '张*');
});

test('a birth date inside an ID number is never visible under any non-loose ID preset', (t) => {
  for (const preset of ['id', 'id.strict']) {
    const out = mask('110101199003071234', preset);
    t.false(out.includes('19900307'));
    t.false(out.includes('1990'));
  }
});

test('every preset is documented with a level and tolerates null and undefined', (t) => {
  t.true(PRESET_NAMES.length >= 30);
  for (const name of PRESET_NAMES) {
    t.truthy(presetInfo(name));
    t.is(mask(undefined, name), MASKED);
    t.is(mask(null, name), MASKED);
  }
  t.throws(() => mask('x', 'mobil'), { message: /unknown mask preset/ });
});
