// The SCIM 2.0 endpoint against what identity providers really send, on the real Slack bot runtime
// (real Redis, FerretDB, audit worker): Okta's published "SCIM 2.0 SPEC Test" sequence and its CRUD
// steps, Entra ID's documented request shapes (PATCH with "Replace", `active` as the string "False",
// the manager as a bare id, path-less and dotted paths, emails[type eq "work"] filters), Groups mapped
// to roles, and a battery of bad input, each refused with the right SCIM error, audited, and leaving
// the directory exactly as it was. Pure parts (mapping, filter/PATCH composition) are table and
// property tests without the server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import type { ScimSettings } from '../bot/config.ts';
import { applyPatch, patchOperations } from '../bot/scim/users.ts';
import { parseFilter } from '../bot/scim/filter.ts';
import { departmentOf, employeeIdOf, lostRoles, rolesOf, statusOf } from '../bot/scim/mapping.ts';
import { renderUser } from '../bot/scim/user-resource.ts';
import type { ScimError } from '../bot/scim/errors.ts';
import type { ScimUserDoc } from '../bot/store/scim-store.ts';
import { approvalCardView } from '../bot/core/views-approval.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { MongoGrantStore } from '../bot/store/grant-store.ts';
import { MongoRequestStore } from '../bot/store/request-store.ts';
import { importFile } from '../bot/store/import.ts';
import { ENTERPRISE, ERROR, LIST, oktaUser, PATCH_OP, SCIM_TOKEN, SCIM_TOKEN_2, ScimClient, USER, type ScimBody } from './helpers/scim.ts';
import { SlackHarness } from './helpers/slack-bot.ts';

let h: SlackHarness;
let scim: ScimClient;

test.before(async () => {
  h = new SlackHarness(import.meta.url, {
    customers: 10,
    extraEnv: {
      CUSTOS_SCIM_TOKENS: `${SCIM_TOKEN},${SCIM_TOKEN_2}`, CUSTOS_SCIM_DEFAULT_DEPARTMENT: 'sales', CUSTOS_SCIM_MAX_BODY_BYTES: '4096',
      CUSTOS_SCIM_DEPARTMENTS: 'Finance Dept=finance,Customer Care=support', CUSTOS_SCIM_GROUP_ROLES: 'custos-leads=lead,custos-auditors=auditor',
    },
  });
  await h.start();
  scim = new ScimClient(h.bot.url);
});
test.after.always(async () => { await h?.close(); });

const employees = () => h.bot.conn.collection('employees').find({}, { projection: { _id: 0 } }).sort({ employeeId: 1 }).toArray();
const scimUsers = () => h.bot.conn.collection('scim_users').find({}).sort({ _id: 1 }).toArray();

// ---------------------------------------------------------------------------------------------------
// Okta: the "Okta SCIM 2.0 SPEC Test" Runscope sequence, step by step, with its assertions.

test.serial('Okta SCIM 2.0 SPEC test sequence', async (t) => {
  // The sequence expects at least one user to exist already.
  t.is((await scim.post('/Users', oktaUser('existing.okta@example.com', 'Existing', 'Person'))).status, 201);

  const users = await scim.get('/Users?count=1&startIndex=1');
  t.is(users.status, 200);
  t.true(users.body.schemas.includes(LIST));
  for (const n of ['itemsPerPage', 'startIndex', 'totalResults']) t.is(typeof users.body[n], 'number', n);
  const first = users.body.Resources[0];
  for (const v of [first.id, first.name.familyName, first.name.givenName, first.userName, first.emails[0].value]) t.truthy(v);
  t.is(first.active, true);
  t.is(users.body.Resources.length, 1, 'count=1 gives one');

  const one = await scim.get(`/Users/${first.id}`);
  t.is(one.status, 200);
  t.is(one.body.id, first.id);
  t.is(one.headers.get('etag'), one.body.meta.version);

  const invalid = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "invalid.user@example.invalid"')}`);
  t.is(invalid.status, 200);
  t.true(invalid.body.schemas.includes(LIST));
  t.is(invalid.body.totalResults, 0);

  const missing = await scim.get('/Users/010101010101010101');
  t.is(missing.status, 404);
  t.truthy(missing.body.detail);
  t.deepEqual(missing.body.schemas, [ERROR]);

  const userName = 'Lucy.Random@example.com';
  t.is((await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.totalResults, 0, 'random user does not exist');

  const created = await scim.post('/Users', oktaUser(userName, 'Lucy', 'Random', 'lucy.random@example.com'));
  t.is(created.status, 201);
  t.is(created.body.active, true);
  t.truthy(created.body.id);
  t.like(created.body, { userName, name: { familyName: 'Random', givenName: 'Lucy' } });
  t.true(created.body.schemas.includes(USER));
  t.is(created.headers.get('etag'), 'W/"1"');

  const verified = await scim.get(`/Users/${created.body.id}`);
  t.like(verified.body, { userName, name: { familyName: 'Random', givenName: 'Lucy' } });

  const again = await scim.post('/Users', oktaUser(userName, 'Lucy', 'Random'));
  t.is(again.status, 409, 'recreating the same user fails');
  t.is(again.body.scimType, 'uniqueness');

  const caps = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}`);
  t.is(caps.status, 200);
  t.is(caps.body.totalResults, 1, 'userName is case-insensitive (RFC 7643 caseExact false)');

  const groups = await scim.get('/Groups');
  t.is(groups.status, 200);
  t.true(Array.isArray(groups.body.Resources));

  const unauthorised = await new ScimClient(h.bot.url, null).send('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, undefined, { authorization: 'non-token' });
  t.is(unauthorised.status, 401);
  t.is(unauthorised.body.status, '401');
  t.truthy(unauthorised.body.detail);
  t.deepEqual(unauthorised.body.schemas, [ERROR]);

  const notFound = await scim.get('/Users/00919288221112222');
  t.is(notFound.status, 404);
  t.is(notFound.body.status, '404');

  // And the employee behind it: a new custos employee in the default department, staff, active.
  const employee = await h.directory.byEmail('lucy.random@example.com');
  t.like(employee, { name: 'Lucy Random', department: 'sales', roles: ['staff'], status: 'active', region: 'east' });
  t.regex(employee!.employeeId, /^E-9\d{5}$/);
  const audit = await h.auditRecords({ action: 'scim.create', 'meta.scimId': created.body.id });
  t.like(audit[0], { actor: { employeeId: null, platform: 'scim', platformUserId: 'token-1' }, meta: { subject: employee!.employeeId, resource: 'User', change: 'create' } });
  t.false(JSON.stringify(audit).includes('lucy'), 'no name or e-mail in the audit record');
});

test.serial('Okta CRUD: profile update by PUT, deactivation by PATCH active=false, reactivation refused by default', async (t) => {
  const created = await scim.post('/Users', oktaUser('okta.crud@example.com', 'Crud', 'Tester'));
  const id = created.body.id as string;
  const put = await scim.put(`/Users/${id}`, { ...oktaUser('okta.crud@example.com', 'Cruddy', 'Tester'), id });
  t.is(put.status, 200);
  t.is(put.body.name.givenName, 'Cruddy');
  t.is(put.body.meta.version, 'W/"2"');
  const employeeId = (await h.directory.byEmail('okta.crud@example.com'))!.employeeId;
  t.is((await h.directory.byId(employeeId))!.name, 'Cruddy Tester');

  // Okta's deactivation: a path-less replace of active.
  const off = await scim.patch(`/Users/${id}`, [{ op: 'replace', value: { active: false } }]);
  t.is(off.status, 200);
  t.is(off.body.active, false);
  t.is((await h.directory.byId(employeeId))!.status, 'offboarded');
  const chain = await h.auditRecords({ $or: [{ action: 'scim.deactivate', 'meta.subject': employeeId }, { action: 'admin.offboard', 'meta.subject': employeeId }] }, 2);
  t.deepEqual(chain.map((r) => r.action), ['scim.deactivate', 'admin.offboard'], 'the SCIM change is recorded before the offboarding it causes');
  t.like(chain[1], { meta: { route: 'scim', change: 'offboard' }, actor: { platform: 'scim' } });

  const back = await scim.patch(`/Users/${id}`, [{ op: 'replace', value: { active: true } }]);
  t.is(back.status, 403);
  t.regex(back.body.detail, /CUSTOS_SCIM_ALLOW_REACTIVATION/);
  t.is((await h.directory.byId(employeeId))!.status, 'offboarded', 'still offboarded');
  t.is((await scim.get(`/Users/${id}`)).body.active, false);
  const refused = await h.auditRecords({ action: 'scim.refused', 'meta.status': 403 });
  t.like(refused[0], { decision: 'denied', meta: { method: 'PATCH', resource: 'User' } });
});

// ---------------------------------------------------------------------------------------------------
// Entra ID: the request shapes of "Tutorial: Develop and plan provisioning for a SCIM endpoint".

test.serial('Entra ID: create with the enterprise extension, externalId filter, Replace with "False", manager as bare id', async (t) => {
  const entraUser = (userName: string, externalId: string, department: string, employeeNumber?: string) => ({
    schemas: [USER, ENTERPRISE], externalId, userName, active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' }, name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' }, roles: [],
    [ENTERPRISE]: { department, ...(employeeNumber ? { employeeNumber } : {}) },
  });
  // Entra asks before it creates: externalId eq, then userName eq.
  t.is((await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "ent-boss"')}`)).body.totalResults, 0);
  const boss = await scim.post('/Users', entraUser('Boss@contoso.example', 'ent-boss', 'Finance Dept', '8001'));
  t.is(boss.status, 201);
  t.is(boss.body[ENTERPRISE].employeeNumber, '8001');
  const worker = await scim.post('/Users', entraUser('Worker@contoso.example', 'ent-worker', 'Customer Care'));
  t.is(worker.status, 201);
  t.like(await h.directory.byId('E-8001'), { department: 'finance', email: 'boss@contoso.example', name: 'givenName familyName' });

  const byExternal = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "ent-worker"')}`);
  t.is(byExternal.body.totalResults, 1);
  t.is(byExternal.body.Resources[0].id, worker.body.id);
  const byEmail = await scim.get(`/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "worker@CONTOSO.example"')}`);
  t.is(byEmail.body.Resources[0]?.id, worker.body.id, 'the work e-mail filter, case-insensitive');

  const manager = await scim.send('PATCH', `/Users/${worker.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: boss.body.id }] });
  t.is(manager.status, 200);
  t.is(manager.body[ENTERPRISE].manager.value, boss.body.id);
  const workerId = (await h.directory.byEmail('worker@contoso.example'))!.employeeId;
  t.is((await h.directory.byId(workerId))!.managerId, 'E-8001');

  const attrs = await scim.patch(`/Users/${worker.body.id}`, [
    { op: 'Replace', path: 'emails[type eq "work"].value', value: 'worker.new@contoso.example' },
    { op: 'Replace', path: 'name.familyName', value: 'Updated' },
    { op: 'Add', value: { displayName: 'Worker Updated', 'name.givenName': 'Wendy' } },
  ]);
  t.is(attrs.status, 200);
  t.like(attrs.body, { displayName: 'Worker Updated', name: { givenName: 'Wendy', familyName: 'Updated' } });
  t.like(await h.directory.byId(workerId), { email: 'worker.new@contoso.example', name: 'Worker Updated', department: 'support' });

  // A department change is a transfer.
  const moved = await scim.patch(`/Users/${worker.body.id}`, [{ op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Finance Dept' }]);
  t.is(moved.status, 200);
  t.is((await h.directory.byId(workerId))!.department, 'finance');
  t.like((await h.auditRecords({ action: 'admin.offboard', 'meta.subject': workerId }))[0], { meta: { route: 'scim', change: 'transfer:support->finance' } });

  const removeManager = await scim.patch(`/Users/${worker.body.id}`, [{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
  t.is(removeManager.status, 200);
  t.is((await h.directory.byId(workerId))!.managerId, undefined);

  const disabled = await scim.patch(`/Users/${worker.body.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]);
  t.is(disabled.status, 200);
  t.is(disabled.body.active, false);
  t.is((await h.directory.byId(workerId))!.status, 'offboarded');
});

test.serial('an employee imported by CSV is linked, not duplicated; a freeze is never lifted by SCIM', async (t) => {
  const rep = h.employees.salesRepNorth;
  await h.directory.setStatus(rep.employeeId, 'frozen');
  const linked = await scim.post('/Users', { schemas: [USER], userName: rep.email, emails: [{ value: rep.email, primary: true }], displayName: rep.name, active: true });
  t.is(linked.status, 201);
  const after = await h.directory.byId(rep.employeeId);
  t.is(after!.status, 'frozen', 'active:true does not lift an anomaly freeze');
  t.is(after!.chat.slack, rep.chat.slack ?? after!.chat.slack, 'chat bindings kept');
  t.like((await h.auditRecords({ action: 'scim.create', 'meta.subject': rep.employeeId }))[0], { meta: { change: 'link' } });
  await h.directory.setStatus(rep.employeeId, 'active');
});

test.serial('linking a CSV lead the IdP puts in no mapped group is a role lost: their grant is revoked', async (t) => {
  const lead = h.employees.marketingLead;
  const grants = new MongoGrantStore(h.bot.conn);
  await grants.create({
    grantId: 'G-link-lead', granteeId: lead.employeeId, target: { kind: 'customers', customerIds: ['C-000003'] }, groups: ['contact'], actions: ['lookup'],
    expiresAt: new Date(h.clock.now().getTime() + 3_600_000), grantedBy: [h.employees.admin.employeeId], purpose: 'renewal', createdAt: h.clock.now(),
  });
  const linked = await scim.post('/Users', { schemas: [USER, ENTERPRISE], userName: lead.email, emails: [{ value: lead.email, primary: true }], displayName: lead.name, active: true, [ENTERPRISE]: { department: 'Marketing' } });
  t.is(linked.status, 201);
  t.is((await h.directory.byId(lead.employeeId))!.department, 'marketing', 'same department: no transfer');
  t.deepEqual((await h.directory.byId(lead.employeeId))!.roles, ['staff'], 'roles come from the IdP groups from now on');
  t.is((await grants.activeFor(lead.employeeId, h.clock.now())).length, 0);
  const [record] = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': lead.employeeId });
  t.like(record!.meta as object, { route: 'scim', change: 'roles-removed:lead', grants: 1 });
});

test.serial('a CSV import does not change a SCIM-managed employee unless --override-scim', async (t) => {
  // E-8001 was provisioned by Entra above (finance, active).
  const dir = await mkdtemp(join(tmpdir(), 'custos-scim-'));
  const file = join(dir, 'hr.csv');
  await writeFile(file, 'employeeId,email,name,department,roles,region\nE-8001,boss@contoso.example,Renamed By HR,finance,staff,east\n');
  const cipher = new FieldCipher(h.config.crypto!);
  const refused = await importFile(h.bot.conn, cipher, 'employees', file);
  t.like(refused, { written: false, rejected: 1 });
  t.like(refused.errors[0], { line: 2, field: 'employeeId' });
  t.regex(refused.errors[0]!.reason, /SCIM.*--override-scim/);
  t.is((await h.directory.byId('E-8001'))!.name, 'givenName familyName', 'unchanged');
  const overridden = await importFile(h.bot.conn, cipher, 'employees', file, { overrideScim: true });
  t.like(overridden, { written: true, rejected: 0, updated: 1 });
  t.is((await h.directory.byId('E-8001'))!.name, 'Renamed By HR');
  await rm(dir, { recursive: true, force: true });
});

test.serial('Groups map to roles: members added and removed through PATCH; If-Match guards writes', async (t) => {
  const a = await scim.post('/Users', oktaUser('group.a@example.com', 'Group', 'A'));
  const b = await scim.post('/Users', oktaUser('group.b@example.com', 'Group', 'B'));
  const g = await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'custos-leads', members: [{ value: a.body.id }] });
  t.is(g.status, 201);
  const idOf = async (email: string) => (await h.directory.byEmail(email))!;
  t.deepEqual((await idOf('group.a@example.com')).roles, ['lead']);
  t.deepEqual((await scim.get(`/Users/${a.body.id}`)).body.groups.map((x: { display: string }) => x.display), ['custos-leads']);

  const add = await scim.patch(`/Groups/${g.body.id}`, [{ op: 'Add', path: 'members', value: [{ value: b.body.id }] }]);
  t.is(add.status, 200);
  t.deepEqual((await idOf('group.b@example.com')).roles, ['lead']);
  const remove = await scim.patch(`/Groups/${g.body.id}`, [{ op: 'Remove', path: `members[value eq "${a.body.id}"]` }]);
  t.is(remove.status, 200);
  t.deepEqual((await idOf('group.a@example.com')).roles, ['staff']);
  t.deepEqual(remove.body.members.map((m: { value: string }) => m.value), [b.body.id]);

  const stale = await scim.put(`/Users/${b.body.id}`, oktaUser('group.b@example.com', 'Group', 'Bee'), { 'if-match': 'W/"0"' });
  t.is(stale.status, 412);
  t.is((await idOf('group.b@example.com')).name, 'Group B', 'nothing changed');
  const current = await scim.get(`/Users/${b.body.id}`);
  t.is((await scim.put(`/Users/${b.body.id}`, oktaUser('group.b@example.com', 'Group', 'Bee'), { 'if-match': current.body.meta.version })).status, 200);

  const unknownMember = await scim.patch(`/Groups/${g.body.id}`, [{ op: 'Add', path: 'members', value: [{ value: 'nobody' }] }]);
  t.is(unknownMember.status, 400);
  t.is(unknownMember.body.scimType, 'invalidValue');

  t.is((await scim.delete(`/Groups/${g.body.id}`)).status, 204);
  t.deepEqual((await idOf('group.b@example.com')).roles, ['staff']);
});

test.serial('a role lost through a group change is a transfer: grants revoked, pending requests cancelled, audited; a role gained revokes nothing', async (t) => {
  const u = await scim.post('/Users', oktaUser('role.loser@example.com', 'Role', 'Loser'));
  const employeeId = (await h.directory.byEmail('role.loser@example.com'))!.employeeId;
  const grants = new MongoGrantStore(h.bot.conn);
  const requests = new MongoRequestStore(h.bot.conn);
  const at = () => h.clock.now();
  const grant = (grantId: string) => grants.create({
    grantId, granteeId: employeeId, target: { kind: 'customers', customerIds: ['C-000001'] }, groups: ['contact'], actions: ['lookup'],
    expiresAt: new Date(at().getTime() + 3_600_000), grantedBy: [h.employees.admin.employeeId], purpose: 'renewal', createdAt: at(),
  });
  // Staff joins custos-leads: a role gained takes nothing away.
  await grant('G-role-1');
  const g = await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'custos-leads', members: [{ value: u.body.id }] });
  t.is(g.status, 201);
  t.deepEqual((await h.directory.byId(employeeId))!.roles, ['lead']);
  t.is((await grants.activeFor(employeeId, at())).length, 1, 'joining a group revoked nothing');

  // As a lead they hold a grant and have a request waiting; then the IdP takes them out of the group.
  await requests.create({
    requestId: 'R-PONMLKJIHG', kind: 'access', requesterId: employeeId, customerIds: ['C-000002'], groups: ['contact'], fields: [], purpose: 'callback',
    durationMinutes: 60, parts: [{ name: 'contact', approverTiers: [[h.employees.salesHead.employeeId]], tiersAsked: 1, quorum: 1, maxDurationMinutes: 240, ruleId: 'r' }],
    ruleIds: ['r'], status: 'pending', createdAt: at(), remindAt: new Date(at().getTime() + 3_600_000), escalateAt: new Date(at().getTime() + 7_200_000),
    expiresAt: new Date(at().getTime() + 86_400_000), cards: [],
  });
  const removed = await scim.patch(`/Groups/${g.body.id}`, [{ op: 'Remove', path: `members[value eq "${u.body.id}"]` }]);
  t.is(removed.status, 200);
  // Answered only after the effects: the role is gone, and with it the grant and the pending request.
  t.deepEqual((await h.directory.byId(employeeId))!.roles, ['staff']);
  t.is((await grants.activeFor(employeeId, at())).length, 0, 'the grant stops working');
  t.like(await requests.get('R-PONMLKJIHG'), { status: 'cancelled', denyReason: 'roleRemoved' });
  const [record] = await h.auditRecords({ action: 'admin.offboard', 'meta.subject': employeeId });
  t.like(record!.meta as object, { route: 'scim', change: 'roles-removed:lead', grants: 1, requests: 1 });
  t.is((await h.directory.byId(employeeId))!.status, 'active', 'still employed');
  // What an approver's card copy now says.
  const card = approvalCardView((await requests.get('R-PONMLKJIHG'))!, { names: new Map(), voters: [], audience: 'approver', locale: 'en', timezone: 'UTC' });
  t.regex(card.status.text, /the requester lost a role/);
  await scim.delete(`/Groups/${g.body.id}`);
});

test.serial('DELETE offboards the employee and forgets the SCIM user; discovery endpoints describe what is supported', async (t) => {
  const u = await scim.post('/Users', oktaUser('to.delete@example.com', 'To', 'Delete'));
  const employeeId = (await h.directory.byEmail('to.delete@example.com'))!.employeeId;
  t.is((await scim.delete(`/Users/${u.body.id}`)).status, 204);
  t.is((await scim.get(`/Users/${u.body.id}`)).status, 404);
  t.is((await h.directory.byId(employeeId))!.status, 'offboarded');
  t.truthy((await h.auditRecords({ action: 'scim.delete', 'meta.subject': employeeId }))[0]);

  const spc = await scim.get('/ServiceProviderConfig');
  t.like(spc.body, { patch: { supported: true }, bulk: { supported: false }, filter: { supported: true }, etag: { supported: true }, sort: { supported: false }, changePassword: { supported: false } });
  t.deepEqual((await scim.get('/ResourceTypes')).body.Resources.map((r: { id: string }) => r.id), ['User', 'Group']);
  t.is((await scim.get(`/Schemas/${ENTERPRISE}`)).body.name, 'EnterpriseUser');
  t.is((await new ScimClient(h.bot.url, SCIM_TOKEN_2).get('/ServiceProviderConfig')).status, 200, 'the second (rotation) token works too');
});

// ---------------------------------------------------------------------------------------------------
// Bad input: the right SCIM error, a scim.refused record, and the directory exactly as it was.

test.serial('bad input battery: each refused with its SCIM error, audited, nothing changed', async (t) => {
  const target = await scim.post('/Users', oktaUser('battery@example.com', 'Bat', 'Tery'));
  const id = target.body.id as string;
  const before = { employees: await employees(), users: await scimUsers() };
  const cases: [string, () => Promise<{ status: number; body: ScimBody }>, number, string | undefined][] = [
    ['no token', () => new ScimClient(h.bot.url, null).get('/Users'), 401, undefined],
    ['wrong token', () => new ScimClient(h.bot.url, 'x'.repeat(40)).post('/Users', oktaUser('evil@example.com', 'E', 'Vil')), 401, undefined],
    ['malformed JSON', () => scim.send('POST', '/Users', '{"schemas": [', {}), 400, 'invalidSyntax'],
    ['unknown attribute', () => scim.post('/Users', { ...oktaUser('new1@example.com', 'N', 'One'), favouriteColour: 'blue' }), 400, 'invalidValue'],
    ['unknown sub-attribute', () => scim.put(`/Users/${id}`, { ...oktaUser('battery@example.com', 'B', 'T'), name: { givenName: 'B', nickname: 'x' } }), 400, 'invalidValue'],
    ['bad time zone', () => scim.put(`/Users/${id}`, { ...oktaUser('battery@example.com', 'B', 'T'), timezone: 'Mars/Olympus' }), 400, 'invalidValue'],
    ['invalid filter', () => scim.get(`/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter'],
    ['invalid filter operator', () => scim.get(`/Users?filter=${encodeURIComponent('userName zz "a"')}`), 400, 'invalidFilter'],
    ['oversized body', () => scim.post('/Users', { ...oktaUser('big@example.com', 'B', 'Ig'), title: 'x'.repeat(5000) }), 413, undefined],
    ['PATCH unknown path', () => scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'favouriteColour', value: 'red' }]), 400, 'invalidPath'],
    ['PATCH unknown path after a good op', () => scim.patch(`/Users/${id}`, [{ op: 'replace', path: 'displayName', value: 'Changed' }, { op: 'add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize', value: 9 }]), 400, 'invalidPath'],
    ['PATCH bad op', () => scim.patch(`/Users/${id}`, [{ op: 'move', path: 'displayName', value: 'x' }]), 400, 'invalidSyntax'],
    ['PATCH without PatchOp schema', () => scim.send('PATCH', `/Users/${id}`, { Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }), 400, 'invalidSyntax'],
    ['PATCH remove without path', () => scim.patch(`/Users/${id}`, [{ op: 'remove' }]), 400, 'noTarget'],
    ['bad e-mail', () => scim.post('/Users', { ...oktaUser('bad@example.com', 'B', 'A'), emails: [{ value: 'not-an-email' }] }), 400, 'invalidValue'],
    ['manager not provisioned', () => scim.patch(`/Users/${id}`, [{ op: 'add', path: `${ENTERPRISE}:manager`, value: 'no-such-user' }]), 400, 'invalidValue'],
    ['employeeNumber change', () => scim.patch(`/Users/${id}`, [{ op: 'add', path: `${ENTERPRISE}:employeeNumber`, value: 'E-7777' }]), 400, 'mutability'],
    ['unknown endpoint', () => scim.get('/Widgets'), 404, undefined],
    ['Bulk (not offered)', () => scim.send('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [{ method: 'POST', path: '/Users', bulkId: 'b1', data: oktaUser('bulk@example.com', 'B', 'Ulk') }] }), 501, undefined],
    ['Me (not offered)', () => scim.get('/Me'), 501, undefined],
    ['sorting (not offered)', () => scim.get('/Users?sortBy=userName&sortOrder=descending'), 501, undefined],
    ['POST .search (not offered)', () => scim.send('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "battery@example.com"' }), 501, undefined],
    ['wrong content type', () => scim.send('POST', '/Users', JSON.stringify(oktaUser('ct@example.com', 'C', 'T')), { 'content-type': 'text/plain' }), 415, undefined],
  ];
  for (const [name, send, status, scimType] of cases) {
    const res = await send();
    t.is(res.status, status, name);
    t.deepEqual(res.body.schemas, [ERROR], `${name}: a SCIM error body`);
    t.is(res.body.status, String(status), name);
    t.is(res.body.scimType, scimType, `${name}: scimType`);
    t.truthy(res.body.detail, name);
    t.false(/battery@|evil@|Olympus|not-an-email/.test(res.body.detail), `${name}: the detail repeats no value`);
  }
  t.deepEqual(await employees(), before.employees, 'no employee changed');
  t.deepEqual(await scimUsers(), before.users, 'no SCIM user changed');
  const refused = await h.auditRecords({ action: 'scim.refused' }, cases.length + 1);
  t.true(refused.length >= cases.length + 1, 'every refusal recorded');
  t.true(refused.some((r) => (r.actor as { platformUserId?: string }).platformUserId === undefined && (r.meta as { status: number }).status === 401), 'unauthenticated refusals are recorded without a token id');
});

test.serial('SCIM is off without tokens: the endpoint does not exist', async (t) => {
  const off = new SlackHarness(`${import.meta.url}#off`, { customers: 1, workers: false });
  await off.start();
  try {
    const res = await fetch(`${off.bot.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${SCIM_TOKEN}` } });
    t.is(res.status, 404);
  } finally {
    await off.close();
  }
});

test.serial('rate limit per token: past the burst 429 tooMany with Retry-After; the other token is not affected', async (t) => {
  const limited = new SlackHarness(`${import.meta.url}#rate`, {
    customers: 1, workers: false,
    extraEnv: { CUSTOS_SCIM_TOKENS: `${SCIM_TOKEN},${SCIM_TOKEN_2}`, CUSTOS_SCIM_RATE_PER_MINUTE: '1', CUSTOS_SCIM_RATE_BURST: '3' },
  });
  await limited.start();
  try {
    const one = new ScimClient(limited.bot.url);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await one.get('/ServiceProviderConfig')).status);
    t.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const refused = await one.get('/Users');
    t.like(refused.body, { status: '429', scimType: 'tooMany' });
    t.true(Number(refused.headers.get('retry-after')) >= 1);
    t.is((await new ScimClient(limited.bot.url, SCIM_TOKEN_2).get('/ServiceProviderConfig')).status, 200, 'each token has its own budget');
  } finally {
    await limited.close();
  }
});

// ---------------------------------------------------------------------------------------------------
// Pure parts.

const SETTINGS: ScimSettings = {
  tokens: ['x'.repeat(32)], ratePerMinute: 60, rateBurst: 10, maxBodyBytes: 65536, defaultDepartment: undefined, defaultRegion: 'east',
  departments: { 'finance dept': 'finance' }, groupRoles: { 'custos-leads': 'lead', 'custos-dpo': 'dpo' }, allowReactivation: false,
};

test('mapping table: departments, roles, employee numbers, status', (t) => {
  const dept = (department: string | undefined, settings: ScimSettings = SETTINGS) => {
    try { return departmentOf({ userName: 'u', active: true, ...(department ? { enterprise: { department } } : {}) }, settings); } catch (e) { return (e as ScimError).scimType; }
  };
  t.is(dept('Finance Dept'), 'finance');
  t.is(dept('FINANCE DEPT'), 'finance');
  t.is(dept('legal'), 'legal', 'a custos department name maps to itself');
  t.is(dept('Skunkworks'), 'invalidValue', 'unmapped, no default: refused');
  t.is(dept(undefined), 'invalidValue');
  t.is(dept('Skunkworks', { ...SETTINGS, defaultDepartment: 'it' }), 'it');
  t.deepEqual(rolesOf([], SETTINGS), ['staff']);
  t.deepEqual(rolesOf(['Custos-Leads', 'other'], SETTINGS), ['lead']);
  t.deepEqual(rolesOf(['custos-dpo', 'custos-leads'], SETTINGS), ['lead', 'dpo']);
  t.deepEqual(lostRoles(['lead', 'dpo'], ['dpo']), ['lead']);
  t.deepEqual(lostRoles(['lead'], ['staff']), ['lead']);
  t.deepEqual(lostRoles(['staff'], ['lead']), [], 'joining a mapped group loses nothing');
  t.deepEqual(lostRoles(['lead'], ['lead', 'auditor']), []);
  const num = (employeeNumber: string) => { try { return employeeIdOf({ userName: 'u', active: true, enterprise: { employeeNumber } }); } catch (e) { return (e as ScimError).scimType; } };
  t.is(num('42'), 'E-0042');
  t.is(num('e-0042'), 'E-0042');
  t.is(num('X42'), 'invalidValue');
  t.is(statusOf(false, 'frozen'), 'offboarded');
  t.is(statusOf(true, 'frozen'), 'frozen', 'a freeze is never lifted by SCIM');
  t.is(statusOf(true, undefined), 'active');
});

// Property: PATCH (scim-patch, with Entra's and Okta's forms) and filters (scim2-parse-filter) compose
// as a plain model says: after any sequence of replace operations, the resource holds the last value
// written to each attribute, and `attr eq value` matches exactly when the model's value equals it
// (case-insensitively for userName, exactly for externalId).
const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,7}$/);
const opArb = fc.oneof(
  fc.record({ attr: fc.constant('displayName' as const), value: word, form: fc.constantFrom('path', 'pathless', 'Replace') }),
  fc.record({ attr: fc.constant('userName' as const), value: word.map((w) => `${w}@example.com`), form: fc.constantFrom('path', 'pathless', 'Replace') }),
  fc.record({ attr: fc.constant('externalId' as const), value: word, form: fc.constantFrom('path', 'pathless') }),
  fc.record({ attr: fc.constant('active' as const), value: fc.constantFrom<boolean | string>(true, false, 'True', 'False'), form: fc.constantFrom('path', 'pathless', 'Replace') }),
);

test('property: PATCH then filter agrees with the model', (t) => {
  fc.assert(fc.property(word, fc.array(opArb, { minLength: 1, maxLength: 8 }), word, (start, ops, probe) => {
    const now = new Date(0);
    let doc: ScimUserDoc = { _id: 'u1', employeeId: 'E-0001', userNameKey: `${start}@example.com`.toLowerCase(), emailKeys: [], data: { userName: `${start}@example.com`, active: true }, version: 1, created: now, lastModified: now };
    const model: Record<string, unknown> = { userName: `${start}@example.com`, active: true };
    for (const o of ops) {
      const op = o.form === 'pathless' ? { op: 'replace', value: { [o.attr]: o.value } } : { op: o.form === 'Replace' ? 'Replace' : 'replace', path: o.attr, value: o.value };
      const data = applyPatch(doc, patchOperations({ schemas: [PATCH_OP], Operations: [op] }));
      doc = { ...doc, data };
      model[o.attr] = typeof o.value === 'string' && o.attr === 'active' ? o.value.toLowerCase() === 'true' : o.value;
    }
    const rendered = renderUser(doc, [], 'http://x/scim/v2');
    for (const attr of ['displayName', 'userName', 'externalId', 'active'] as const) {
      if (rendered[attr] !== model[attr]) return false;
    }
    const eq = (attr: string, v: string) => parseFilter(`${attr} eq "${v}"`, 'User').matches(rendered);
    const userName = String(model.userName);
    if (!eq('userName', userName.toUpperCase())) return false;
    if (eq('externalId', probe) !== (model.externalId === probe)) return false;
    if (model.externalId && eq('externalId', String(model.externalId).toUpperCase()) !== (String(model.externalId).toUpperCase() === model.externalId)) return false;
    const both = parseFilter(`userName eq "${userName}" and active eq ${String(model.active)}`, 'User').matches(rendered);
    return both;
  }), { numRuns: 200 });
  t.pass();
});
