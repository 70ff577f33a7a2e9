// Policy files are validated completely on load; every problem names the file, the path inside it and
// the rule id, and nothing is loaded when any problem exists.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPolicy, formatProblem, loadPolicy } from '../policies/load.ts';
import { isCustosError, ErrorCode } from '../bot/core/errors.ts';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-policy-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const rule = (id: string, extra: string) => `
  - id: ${id}
    description: test rule
    who: { departments: [sales] }
    actions: [lookup]
${extra}`;

function problemsOf(yaml: string): string[] {
  const dir = dirWith({ 'p.yaml': `version: 1\nrules:${yaml}` });
  return checkPolicy(dir).problems.map(formatProblem);
}

test('the shipped default policy is valid', (t) => {
  const { policy, problems } = checkPolicy('policies');
  t.deepEqual(problems.map(formatProblem), []);
  t.true((policy?.rules.length ?? 0) >= 15);
  t.regex(policy!.version, /^[0-9a-f]{16}$/);
});

test('an unknown mask preset names file, path and rule id', (t) => {
  const [p] = problemsOf(rule('sales.bad', '    fields: { phone: "mask:mobil" }'));
  t.regex(p!, /p\.yaml: rules\[0\]\.fields\.phone \[rule sales\.bad\]: "mask:mobil" is not an outcome/);
});

test('top-level $or in a scope is refused (CASL cannot check it in memory)', (t) => {
  const [p] = problemsOf(rule('sales.or', '    scope: { $or: [{ region: east }, { tier: gold }] }'));
  t.regex(p!, /rules\[0\]\.scope\.\$or \[rule sales\.or\]: top-level "\$or" is not allowed/);
});

test('operators outside the allow-list, unknown variables and encrypted fields are refused', (t) => {
  const problems = problemsOf(rule('sales.ops', '    scope: { region: { $regex: "^e" }, ownerId: $principal.boss, phone: "138" }'));
  t.is(problems.length, 3);
  t.true(problems.some((p) => /scope\.region\.\$regex .*operator "\$regex" is not allowed/.test(p)));
  t.true(problems.some((p) => /scope\.ownerId .*unknown variable "\$principal\.boss"/.test(p)));
  t.true(problems.some((p) => /scope\.phone .*encrypted at rest/.test(p)));
});

test('names, companies, birth dates and free-text notes are encrypted too, so a scope on them is refused at load', (t) => {
  for (const field of ['name', 'company', 'wechat', 'birthDate', 'afterSalesNotes', 'disputes']) {
    const problems = problemsOf(rule('sales.enc', `    scope: { ${field}: { $exists: true } }`));
    t.deepEqual(problems.map((p) => p.replace(/^.*?\]: /, '')), [`"${field}" is encrypted at rest, so a scope cannot test it`], field);
  }
});

test('variables are values only: never list items, and roles only with $in', (t) => {
  const problems = problemsOf(rule('sales.vars', '    scope: { region: { $in: [$principal.region] }, ownerId: $principal.roles }'));
  t.true(problems.some((p) => /scope\.region\.\$in\[0\].*variables cannot be list items/.test(p)));
  t.true(problems.some((p) => /scope\.ownerId.*is a list: use it with \$in/.test(p)));
});

test('unknown keys, fields, departments and actions are each reported', (t) => {
  const problems = problemsOf(`
  - id: x.one
    description: d
    who: { departments: [salez] }
    actions: [lookup, peek]
    fields: { phonenumber: show }
    feilds: {}`);
  t.true(problems.some((p) => /who\.departments\[0\] \[rule x\.one\]/.test(p)));
  t.true(problems.some((p) => /actions\[1\] \[rule x\.one\]/.test(p)));
  t.true(problems.some((p) => /"phonenumber" is neither a field group/.test(p)));
  t.true(problems.some((p) => /feilds/.test(p)));
});

test('a YAML syntax error names the line', (t) => {
  const dir = dirWith({ 'broken.yaml': 'version: 1\nrules:\n  - id: a\n    description: [unclosed\n' });
  const [p] = checkPolicy(dir).problems.map(formatProblem);
  t.regex(p!, /broken\.yaml: line \d+/);
});

test('duplicate rule ids across files and settings given twice are refused', (t) => {
  const one = `version: 1\nsettings: { workingHours: { days: [mon], start: "09:00", end: "17:00" } }\nrules:${rule('same.id', '')}`;
  const problems = checkPolicy(dirWith({ 'a.yaml': one, 'b.yaml': one })).problems.map(formatProblem);
  t.true(problems.some((p) => /b\.yaml: rules\[0\]\.id \[rule same\.id\]: rule id "same\.id" is already used in .*a\.yaml/.test(p)));
  t.true(problems.some((p) => /b\.yaml: settings: settings are already given/.test(p)));
});

test('context rules need a constraint, approvals a known group and approver', (t) => {
  const dir = dirWith({ 'c.yaml': `version: 1
context:
  - { id: ctx.empty, description: d, actions: [lookup] }
approvals:
  - { id: ap.bad, description: d, groups: [secrets], approvers: [{ kind: boss }], quorum: 1, maxDurationMinutes: 60 }
` });
  const problems = checkPolicy(dir).problems.map(formatProblem);
  t.true(problems.some((p) => /context\[0\] \[rule ctx\.empty\]: a context rule needs/.test(p)));
  t.true(problems.some((p) => /approvals\[0\]\.groups\[0\] \[rule ap\.bad\]/.test(p)));
  t.true(problems.some((p) => /approvals\[0\]\.approvers\[0\].* \[rule ap\.bad\]/.test(p)));
});

test('loadPolicy throws one PolicyInvalid error listing every problem, and loads nothing', (t) => {
  const dir = dirWith({ 'p.yaml': `version: 1\nrules:${rule('a.one', '    fields: { phone: "mask:nope" }')}${rule('a.two', '    scope: { $and: [] }')}` });
  const err = t.throws(() => loadPolicy(dir));
  t.true(isCustosError(err, ErrorCode.PolicyInvalid));
  const problems = (err as unknown as { details: { problems: string[] } }).details.problems;
  t.is(problems.length, 2);
  t.regex(problems.join('\n'), /a\.one[\s\S]*a\.two/);
});

test('a missing path is a problem, not a crash', (t) => {
  const [p] = checkPolicy('/nonexistent/policies').problems.map(formatProblem);
  t.regex(p!, /cannot read/);
});
