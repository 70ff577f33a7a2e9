// Mapping files: table tests of what a mapping accepts and refuses (every problem at once, with where it
// is) and of how a CRM record becomes a custos row (value maps, defaults, nested fields, never the value
// in a problem).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { isCustosError, ErrorCode } from '../bot/core/errors.ts';
import { customerIdOf, mapRecord, parseMapping } from '../bot/sync/mapping.ts';

const modelYaml = readFileSync(new URL('./fixtures/sync/model.yaml', import.meta.url), 'utf8');
const mapping = parseMapping(modelYaml);

const BASE = 'source: s\ncustomerId: { from: Id__c }\nowner: { from: OwnerEmail }\n';
const refused: [string, string, string[]][] = [
  ['unknown custos field', `${BASE}fields: { nickname: Nick__c }`, ['fields.nickname: is not a custos customer field']],
  ['ownerId mapped as a field', `${BASE}fields: { ownerId: Owner }`, ['fields.ownerId: is not a custos customer field']],
  ['bad CRM field name', `${BASE}fields: { name: "Na me" }`, ['fields.name']],
  ['bad source name', 'source: Sales Force\ncustomerId: { from: X }\nowner: { from: O }\nfields: {}', ['source: must be a lower-case source name']],
  ['bad owner table entry', 'source: s\ncustomerId: { from: X }\nowner: { from: O, table: { a: bob } }\nfields: {}', ['owner.table.a: must be an employee id']],
  ['missing customerId and owner', 'source: s\nfields: {}', ['customerId', 'owner']],
  ['unknown top-level key', `${BASE}fields: {}\nextra: 1`, ['extra']],
  ['not YAML', 'source: [', ['not valid YAML']],
];
for (const [title, yaml, mustMention] of refused) {
  test(`mapping refused: ${title}`, (t) => {
    const err = t.throws(() => parseMapping(yaml, 'm.yaml'));
    t.true(isCustosError(err, ErrorCode.SyncMappingInvalid));
    for (const m of mustMention) t.true(err!.message.includes(m), `${err!.message} should mention ${m}`);
  });
}

test('mapping refusal lists every problem at once', (t) => {
  const err = t.throws(() => parseMapping('source: s\ncustomerId: { from: X }\nowner: { from: O }\nfields: { a: X, b: Y }', 'm.yaml'));
  t.regex(err!.message, /fields\.a.*fields\.b/);
});

const rows: [string, Record<string, unknown>, Record<string, unknown> | string[]][] = [
  ['value maps and constants', { Number__c: '42', Name: 'Acme', Region__c: 'CN-E', Tier__c: 'A', Owner: { Email: 'ann@example.com' } },
    { customerId: 'C-000042', name: 'Acme', company: 'Acme', region: 'east', tier: 'gold', type: 'company', status: 'active' }],
  ['default when the CRM field is blank', { Number__c: 7, Name: 'B', Region__c: 'CN-N', Tier__c: '', Owner: { Email: 'x' } },
    { customerId: 'C-000007', name: 'B', company: 'B', region: 'north', tier: 'standard', type: 'company', status: 'active' }],
  ['a value missing from the value map', { Number__c: 1, Name: 'B', Region__c: 'XX-9' }, ['region']],
  ['no customer number', { Name: 'B', Region__c: 'CN-N' }, ['customerId']],
  ['customer number not numeric', { Number__c: 'abc', Name: 'B', Region__c: 'CN-N' }, ['customerId']],
];
for (const [title, fields, want] of rows) {
  test(`mapRecord: ${title}`, (t) => {
    const r = mapRecord(mapping, fields);
    if (Array.isArray(want)) {
      t.false(r.ok);
      if (r.ok) return;
      t.deepEqual(r.problems.map((p) => p.field), want);
      for (const p of r.problems) t.false(p.reason.includes('XX-9') || p.reason.includes('abc'), 'a problem never repeats the value');
    } else {
      t.true(r.ok);
      if (!r.ok) return;
      t.deepEqual(r.value.row, want);
    }
  });
}

test('mapRecord takes the owner from a nested field', (t) => {
  const r = mapRecord(mapping, { Number__c: 3, Name: 'C', Region__c: 'CN-S', Owner: { Email: ' bo@example.com ' } });
  t.true(r.ok && r.value.ownerRef === 'bo@example.com');
});

test('customerIdOf accepts C-numbers as they are when not numeric', (t) => {
  const m = parseMapping('source: s\ncustomerId: { from: Cid }\nowner: { from: O }\nfields: {}');
  t.is(customerIdOf(m, { Cid: 'c-000123' }), 'C-000123');
  t.is(customerIdOf(m, { Cid: '123' }), null);
});
