// The policy test matrices shipped in policies/tests: every case passes (one test per case), they cover
// what the default policy must be tested for, and a wrong expectation produces a readable diff.
import test from 'ava';
import { createPolicyEngine, loadPolicy, PRESET_NAMES } from '../policies/index.ts';
import { parseMatrix, runMatrices, runMatrix } from '../policies/matrix.ts';
import { DEPARTMENTS } from '../bot/core/domain.ts';

const engine = createPolicyEngine(loadPolicy('policies'));
const { results, problems } = runMatrices(engine, 'policies/tests', (p) => createPolicyEngine(loadPolicy(p)));

test('every matrix file parses', (t) => {
  t.deepEqual(problems, []);
});

for (const r of results) {
  test(`matrix ${r.file.split('/').pop()}: ${r.name}`, (t) => {
    t.deepEqual(r.diffs, []);
  });
}

test('the default matrix has 60+ cases covering every department, guests, off-hours, grants and expiry', (t) => {
  const own = results.filter((r) => r.file.endsWith('default.test.yaml'));
  t.true(own.length >= 60, `${own.length} cases`);
  t.deepEqual(DEPARTMENTS.filter((d) => !own.some((r) => r.department === d)), []);
  t.true(own.some((r) => r.external && r.denyReason === undefined), 'a guest allowed');
  t.true(own.some((r) => r.external && r.denyReason), 'a guest refused');
  for (const reason of ['off_hours', 'out_of_scope', 'channel_denied', 'purpose_required', 'no_rule', 'external_denied']) {
    t.true(own.some((r) => r.denyReason === reason), reason);
  }
  t.true(own.filter((r) => r.grants > 0).length >= 8, 'grant cases');
  t.true(own.some((r) => /expir/.test(r.name) && r.grants > 0), 'expiry case');
});

test('together the matrices check every mask preset', (t) => {
  const seen = new Set(results.flatMap((r) => r.checked).filter((o) => o.startsWith('mask:')).map((o) => o.slice(5)));
  t.deepEqual(PRESET_NAMES.filter((p) => !seen.has(p)), []);
});

test('a wrong expectation fails with a diff naming the field, both outcomes and the rule', (t) => {
  const { matrix } = parseMatrix('inline.yaml', `
at: "2026-03-02T10:00:00+08:00"
cases:
  - name: wrong on purpose
    as: { employeeId: E-0012, department: sales, roles: [staff], region: east }
    customer: { customerId: C-1, region: east, phone: "13800135678" }
    expect: { allowed: false, fields: { phone: show }, values: { phone: "13800135678" }, approvals: none }
`);
  const [r] = runMatrix(engine, 'inline.yaml', matrix!);
  t.false(r!.passed);
  t.deepEqual(r!.diffs, [
    'allowed: expected false, got true',
    'fields.phone: expected show, got mask:phone (sales.region)',
    'approvals: expected none, got contact, identity, finance, legal',
    'values.phone: expected "13800135678", got "138****5678"',
  ]);
});

test('a malformed matrix names the file, the path and the case', (t) => {
  const { problems: p } = parseMatrix('bad.yaml', `
at: "not a time"
cases:
  - name: typo
    as: salesRep
    action: lookupp
    expect: { allowed: true, fields: { phone: "mask:nope" } }
`);
  t.true(p.some((x) => /bad\.yaml: at: "not a time" is not a date/.test(x)));
  t.true(p.some((x) => /bad\.yaml: cases\.0\.action \[case "typo"\]/.test(x)));
  t.true(p.some((x) => /cases\.0\.expect\.fields\.phone \[case "typo"\]: "mask:nope" is not an outcome/.test(x)));
});

test('an unknown named principal is a failing case, not a crash', (t) => {
  const { matrix } = parseMatrix('x.yaml', 'at: "2026-03-02T10:00:00+08:00"\ncases:\n  - { name: n, as: nobody, expect: { allowed: true } }\n');
  const [r] = runMatrix(engine, 'x.yaml', matrix!);
  t.deepEqual(r!.diffs, ['unknown principal "nobody"']);
});
