// Property: whatever the principal, customer and context, the rendered view never contains the raw
// value of a field whose outcome is mask or hide, nor any piece of it longer than the mask keeps.
// Checked against the shipped policy and against random policies that use every mask preset.
import test from 'ava';
import fc from 'fast-check';
import { applyDecision, formatValue, type ShownField } from '../bot/core/view.ts';
import { CUSTOMER_FIELDS, DEPARTMENTS, REGIONS, ROLES, type Customer, type CustomerField } from '../bot/core/domain.ts';
import { createPolicyEngine, loadPolicy, PRESET_NAMES, presetInfo } from '../policies/index.ts';
import { parsePolicyText, type Policy } from '../policies/load.ts';
import { CHANNEL_KINDS, type Decision, type Principal } from '../policies/types.ts';

// ---- generators -------------------------------------------------------------------------------

const noMaskChars = (s: string) => !s.includes('*') && !s.includes('\uFFFF');
const weird = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom(...'0123456789０１２３٣٤+-() @.xX张欧阳北京市区'.split('')), maxLength: 24 }),
).filter(noMaskChars);
const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: min, maxLength: max });
const mobile = fc.tuple(fc.constantFrom('', '+86 ', '0086'), fc.constantFrom('13', '15', '18', '19'), digits(9, 9), fc.constantFrom('', '-', ' '))
  .map(([p, a, rest, sep]) => `${p}${a}${rest.slice(0, 1)}${sep}${rest.slice(1, 5)}${sep}${rest.slice(5)}`);
const landline = fc.tuple(fc.constantFrom('010', '021', '0915', '0755'), digits(7, 8)).map(([a, n]) => `${a}-${n}`);
const idNumber = fc.tuple(digits(17, 17), fc.constantFrom('0', '7', 'X')).map(([d, c]) => d + c);
const han = fc.string({ unit: fc.constantFrom(...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚'.split('')), minLength: 1, maxLength: 3 });
const name = fc.oneof(
  fc.tuple(fc.constantFrom('', '欧阳', '司马', '诸葛'), han).map(([s, n]) => s + n),
  fc.tuple(fc.stringMatching(/^[A-Z][a-z]{1,8}$/), fc.stringMatching(/^[A-Z][a-z]{1,8}$/)).map(([a, b]) => `${a} ${b}`),
  weird,
);
const email = fc.oneof(fc.emailAddress().filter(noMaskChars), weird);
const address = fc.oneof(
  fc.tuple(fc.constantFrom('北京市海淀区', '广东省深圳市南山区', '浙江省杭州市西湖区', '上海市浦东新区'), han, digits(1, 4)).map(([a, s, n]) => `${a}${s}路${n}号`),
  weird,
);
const date = fc.date({ min: new Date('1950-01-01T00:00:00Z'), max: new Date('2035-12-31T00:00:00Z'), noInvalidDate: true });
const amount = fc.oneof(fc.integer({ min: -1e7, max: 1e9 }), fc.double({ noNaN: false }));

const customer: fc.Arbitrary<Customer> = fc.record({
  customerId: digits(6, 6).map((d) => `C-${d}`),
  name,
  type: fc.constantFrom('person', 'company'),
  company: fc.option(weird, { nil: undefined }),
  industry: fc.option(weird, { nil: undefined }),
  region: fc.constantFrom(...REGIONS),
  tier: fc.constantFrom('standard', 'silver', 'gold', 'platinum'),
  ownerId: fc.constantFrom('E-0012', 'E-0013', 'E-0099'),
  status: fc.constantFrom('lead', 'active', 'churned', 'blocked'),
  phone: fc.oneof(mobile, landline, weird),
  email,
  address,
  wechat: weird,
  idNumber: fc.oneof(idNumber, weird),
  birthDate: fc.oneof(date.map((d) => d.toISOString().slice(0, 10)), weird),
  leadSource: weird,
  campaigns: fc.array(weird, { maxLength: 3 }),
  stage: fc.constantFrom('prospect', 'qualified', 'won'),
  pipelineValue: amount,
  lastContactAt: date,
  followUps: fc.array(fc.record({ at: date, by: fc.constant('E-0012'), note: weird }), { maxLength: 2 }),
  contractAmount: amount,
  outstanding: amount,
  paymentStatus: fc.constantFrom('current', 'overdue', 'in_collection', 'settled'),
  creditRating: fc.constantFrom('AAA', 'BB', 'C'),
  bankAccount: fc.oneof(digits(16, 19), digits(16, 19).map((d) => d.replace(/(\d{4})/g, '$1 ')), weird),
  openTickets: fc.nat(50),
  satisfaction: fc.integer({ min: 1, max: 5 }),
  afterSalesNotes: weird,
  contracts: fc.array(fc.record({ contractNo: digits(6, 6), title: weird, signedAt: date, amount: fc.nat() }), { maxLength: 2 }),
  disputes: fc.array(weird, { maxLength: 2 }),
}, { requiredKeys: ['customerId', 'name', 'type', 'region', 'tier', 'ownerId', 'status'] }) as fc.Arbitrary<Customer>;

const principal: fc.Arbitrary<Principal> = fc.record({
  employeeId: fc.constantFrom('E-0012', 'E-0013', 'E-0050', 'E-0099'),
  department: fc.constantFrom(...DEPARTMENTS),
  roles: fc.subarray([...ROLES], { minLength: 1, maxLength: 2 }),
  region: fc.constantFrom(...REGIONS),
  external: fc.boolean(),
  timezone: fc.constantFrom('Asia/Shanghai', 'America/Los_Angeles', 'Europe/London', 'Not/AZone'),
});
const context = fc.record({
  channel: fc.constantFrom(...CHANNEL_KINDS),
  at: date,
  purpose: fc.option(fc.constantFrom('renewal', ' '), { nil: undefined }),
});

// ---- what each preset may keep (independent of the implementation) ----------------------------

/** The longest run of the raw text a masked value may contain, in UTF-16 units. */
function bound(preset: string, raw: string): number {
  const afterAt = raw.includes('@') ? raw.length - raw.lastIndexOf('@') : 0;
  const hanPrefix = /^[\u3400-\u4dbf\u4e00-\u9fff]*/u.exec(raw.trim())?.[0].length ?? 0;
  const table: Record<string, number> = {
    mobile: 4, 'mobile.strict': 4, landline: 4, 'landline.strict': 4, phone: 4, 'phone.strict': 4,
    id: 6, 'id.strict': 2, bankcard: 6, 'bankcard.strict': 4, 'bankcard.loose': 4,
    name: 4, 'name.strict': 0, email: Math.max(2, afterAt), 'email.strict': afterAt, 'email.loose': Math.max(6, afterAt),
    address: hanPrefix, 'address.strict': hanPrefix, birthdate: 6, 'birthdate.strict': 1, amount: 4, 'amount.strict': 0,
    month: 7, count: 3, redact: 0,
  };
  const b = table[preset];
  if (b === undefined) throw new Error(`no bound for preset ${preset}: add it to this test`);
  return b;
}

function rawText(value: unknown): string {
  return typeof value === 'string' ? value : formatValue(value);
}

function checkView(decision: Decision, c: Customer, view: ShownField[]): string | undefined {
  // Only what is not plainly shown: a shown field (or a "full" loose mask) may legitimately contain anything.
  const serialised = view.filter((f) => f.outcome !== 'show' && !presetInfo(f.outcome.slice(5))?.mayShowAll).map((f) => f.value.replaceAll('*', '\uFFFF')).join('\u0000');
  for (const field of CUSTOMER_FIELDS as CustomerField[]) {
    const outcome = decision.allowed ? (decision.fields[field]?.outcome ?? 'hide') : 'hide';
    const value: unknown = c[field];
    if (outcome === 'show' || value === undefined) continue;
    const shown = view.find((f) => f.field === field);
    const raw = rawText(value);
    if (outcome === 'hide') {
      if (shown) return `${field} is hidden but appears in the view`;
      if (raw.length >= 6 && serialised.includes(raw)) return `hidden ${field} raw value appears in the view`;
      continue;
    }
    const preset = outcome.slice(5);
    if (presetInfo(preset)?.mayShowAll) continue;
    const b = bound(preset, raw);
    // Across the whole view only values long enough not to turn up by coincidence in another field.
    if (raw.length > Math.max(b, 5) && serialised.includes(raw)) return `masked ${field} (${preset}) raw value appears in the view`;
    const own = (shown?.value ?? '').replaceAll('*', '\uFFFF');
    for (let i = 0; i + b + 1 <= raw.length; i++) {
      const piece = raw.slice(i, i + b + 1);
      if (own.includes(piece)) return `masked ${field} (${preset}) shows "${piece}", more than ${b} characters of the raw value`;
    }
  }
  return undefined;
}

// ---- properties -------------------------------------------------------------------------------

const shipped = createPolicyEngine(loadPolicy('policies'));

test('shipped policy: no masked or hidden value leaks into the rendered view', (t) => {
  fc.assert(fc.property(principal, customer, context, (p, c, ctx) => {
    const decision = shipped.decideWith(p, 'lookup', ctx, c, []);
    const problem = checkView(decision, c, applyDecision(c, decision));
    if (problem) t.log(problem);
    return problem === undefined;
  }), { numRuns: 1500 });
  t.pass();
});

const maskable = PRESET_NAMES.filter((n) => !presetInfo(n)!.mayShowAll);
const outcome = fc.constantFrom('show', 'hide', ...PRESET_NAMES.map((n) => `mask:${n}`));
const randomPolicy: fc.Arbitrary<Policy> = fc.array(fc.dictionary(fc.constantFrom(...CUSTOMER_FIELDS), outcome), { minLength: 1, maxLength: 3 })
  .map((ruleFields) => {
    const text = JSON.stringify({
      version: 1,
      rules: ruleFields.map((fields, i) => ({ id: `r${i}`, description: 'random', who: { external: 'any' }, actions: ['lookup'], fields })),
    });
    const { policy, problems } = parsePolicyText('random.yaml', text);
    if (!policy) throw new Error(problems.map((p) => p.message).join('; '));
    return { version: `v${Math.random()}`, files: [], settings: { workingHours: { days: ['mon'], start: '00:00', end: '23:59' } },
      rules: policy.rules.map((r) => ({ ...r, file: 'random.yaml' })), context: [], approvals: [] };
  });

test('random policies using every preset: no masked or hidden value leaks', (t) => {
  const seen = new Set<string>();
  fc.assert(fc.property(randomPolicy, principal, customer, context, (policy, p, c, ctx) => {
    const decision = createPolicyEngine(policy).decideWith(p, 'lookup', ctx, c, []);
    for (const f of Object.values(decision.fields)) if (f.outcome.startsWith('mask:')) seen.add(f.outcome.slice(5));
    const problem = checkView(decision, c, applyDecision(c, decision));
    if (problem) t.log(problem);
    return problem === undefined;
  }), { numRuns: 1500 });
  t.deepEqual(maskable.filter((n) => !seen.has(n)), [], 'every non-full preset was exercised');
});

test('the audience view is never more revealing than any member alone', (t) => {
  const order = (o: string) => (o === 'show' ? 0 : o === 'hide' ? 4 : presetInfo(o.slice(5))!.level);
  fc.assert(fc.asyncProperty(fc.array(principal, { minLength: 1, maxLength: 4 }), customer, context, async (members, c, ctx) => {
    const group = await shipped.decideForAudience(members, 'lookup', ctx, c);
    for (const m of members) {
      const alone = shipped.decideWith(m, 'lookup', ctx, c, []);
      if (!alone.allowed && group.allowed) throw new Error('a refused member would see the card');
      if (!group.allowed) continue;
      for (const field of CUSTOMER_FIELDS) {
        const g = group.fields[field]!.outcome;
        const a = alone.fields[field]!.outcome;
        if (order(g) < order(a)) throw new Error(`${field}: audience gets ${g}, member alone ${a}`);
        if (g !== a && order(g) === order(a) && g !== 'mask:redact') throw new Error(`${field}: ${g} vs ${a}`);
      }
    }
  }), { numRuns: 400 });
  t.pass();
});
