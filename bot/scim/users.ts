// SCIM Users: create, read, list, replace, PATCH, delete, each carried through to the employee record.
// The effects on access are the existing ones (bot/core/offboarding.ts), run inside the request so the
// answer comes only after they are recorded:
//  - `active` true→false, or DELETE: offboarding (status, grants revoked, pending requests cancelled
//    with their cards updated on every platform, admin.offboard audited);
//  - department changed: a transfer (grants of the old department revoked);
//  - an offboarded employee set active: a reactivation, only with CUSTOS_SCIM_ALLOW_REACTIVATION (the
//    same rules as `custos import --allow-reactivation`), else refused;
//  - a frozen employee stays frozen whatever SCIM says (a freeze is lifted only by an admin).
// Every change is audited (scim.create / scim.update / scim.deactivate / scim.delete) before it happens.
import { randomBytes } from 'node:crypto';
import { scimPatch, ScimError as PatchError, type ScimPatchOperation } from 'scim-patch';
import type { ScimSettings } from '../config.ts';
import { identifierLooksLikePii } from '../core/audit-event.ts';
import type { Employee } from '../core/domain.ts';
import type { Locale } from '../core/messages.ts';
import type { OffboardingService } from '../core/offboarding.ts';
import type { Clock } from '../core/ports.ts';
import type { EmployeeStore } from '../store/employee-store.ts';
import type { ScimStore, ScimUserData, ScimUserDoc } from '../store/scim-store.ts';
import type { ScimAudit } from './audit.ts';
import { badRequest, notFound, ScimError } from './errors.ts';
import { parseFilter } from './filter.ts';
import { emailOf, employeeIdOf, lostRoles, toEmployee } from './mapping.ts';
import { ENTERPRISE_SCHEMA, listResponse, MAX_PAGE, PATCH_SCHEMA, USER_SCHEMA } from './protocol.ts';
import { etag, parseUser, patchTarget, renderUser } from './user-resource.ts';

export interface ScimUsersDeps {
  store: ScimStore;
  directory: EmployeeStore;
  offboarding: OffboardingService;
  audit: ScimAudit;
  clock: Clock;
  settings: ScimSettings;
  defaultLocale: Locale;
}

export interface Caller { token: string; base: string; ifMatch?: string | undefined }
export interface Answer { status: number; body?: unknown; etag?: string }

/** A random SCIM id; retried in the rare case it holds a digit run the audit PII guard would refuse. */
export function newScimId(): string {
  for (;;) {
    const id = randomBytes(12).toString('hex');
    if (!identifierLooksLikePii(id) && !/\d{6,}/.test(id)) return id;
  }
}

const USER_PATHS = new Set(['username', 'externalid', 'name', 'displayname', 'emails', 'active', 'title', 'usertype', 'locale', 'preferredlanguage',
  'timezone', 'nickname', 'profileurl', 'phonenumbers', 'addresses', 'ims', 'photos', 'entitlements', 'roles', 'x509certificates']);
const ENTERPRISE_PATHS = new Set(['employeenumber', 'department', 'manager', 'organization', 'division', 'costcenter']);

/** Refuses a PATCH path that names no attribute of the User or enterprise schema (400 invalidPath). */
export function checkPatchPath(path: string | undefined, value: unknown): void {
  if (path === undefined) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest('invalidValue', 'a PATCH operation without a path needs an object value');
    for (const key of Object.keys(value)) if (key !== ENTERPRISE_SCHEMA && !key.toLowerCase().startsWith(`${ENTERPRISE_SCHEMA.toLowerCase()}:`)) checkPatchPath(key, undefined);
    return;
  }
  const lower = path.toLowerCase();
  const ent = ENTERPRISE_SCHEMA.toLowerCase();
  if (lower === ent) return;
  if (lower.startsWith(`${ent}:`)) {
    if (!ENTERPRISE_PATHS.has(lower.slice(ent.length + 1).split(/[.[]/)[0]!)) throw badRequest('invalidPath', `PATCH path names no attribute of ${ENTERPRISE_SCHEMA}`);
    return;
  }
  const core = lower.startsWith(`${USER_SCHEMA.toLowerCase()}:`) ? lower.slice(USER_SCHEMA.length + 1) : lower;
  if (!USER_PATHS.has(core.split(/[.[]/)[0]!)) throw badRequest('invalidPath', `PATCH path "${path.slice(0, 64)}" names no attribute of a User`);
}

/** A PatchOp body's operations, validated (schema, op names, paths). */
export function patchOperations(body: unknown): ScimPatchOperation[] {
  const b = body as { schemas?: unknown; Operations?: unknown };
  if (!b || typeof b !== 'object' || !Array.isArray(b.schemas) || !b.schemas.includes(PATCH_SCHEMA)) throw badRequest('invalidSyntax', `a PATCH body must list the schema ${PATCH_SCHEMA}`);
  if (!Array.isArray(b.Operations) || b.Operations.length === 0) throw badRequest('invalidSyntax', 'a PATCH body needs a non-empty Operations array');
  if (b.Operations.length > 100) throw badRequest('tooMany', 'a PATCH body may hold at most 100 operations');
  return b.Operations.map((raw: unknown, i: number) => {
    const op = raw as { op?: unknown; path?: unknown; value?: unknown };
    if (!op || typeof op !== 'object' || typeof op.op !== 'string' || !['add', 'replace', 'remove'].includes(op.op.toLowerCase())) {
      throw badRequest('invalidSyntax', `Operations[${i}].op must be add, replace or remove`);
    }
    if (op.path !== undefined && typeof op.path !== 'string') throw badRequest('invalidPath', `Operations[${i}].path must be a string`);
    if (op.op.toLowerCase() === 'remove' && op.path === undefined) throw badRequest('noTarget', `Operations[${i}] removes without a path`);
    if (op.op.toLowerCase() !== 'remove') checkPatchPath(op.path as string | undefined, op.value);
    else checkPatchPath(op.path as string, undefined);
    return op as ScimPatchOperation;
  });
}

/** Applies PATCH operations to a stored user's attributes with scim-patch; the result is parsed like a PUT body. */
export function applyPatch(doc: ScimUserDoc, ops: ScimPatchOperation[]): ScimUserData {
  let patched: Record<string, unknown>;
  try {
    patched = scimPatch(patchTarget(doc) as never, ops, { mutateDocument: false, treatMissingAsAdd: true }) as unknown as Record<string, unknown>;
  } catch (err) {
    if (err instanceof PatchError) throw badRequest(err.scimCode === 'noTarget' ? 'noTarget' : 'invalidPath', `PATCH could not be applied: ${err.name}`);
    throw err;
  }
  const { meta: _meta, ...rest } = patched;
  return parseUser(rest);
}

export class ScimUsers {
  constructor(private readonly deps: ScimUsersDeps) {}

  async get(id: string, base: string): Promise<Answer> {
    const doc = await this.deps.store.userById(id);
    if (!doc) throw notFound(`User ${id.slice(0, 64)}`);
    return this.answer(200, doc, base);
  }

  async list(query: URLSearchParams, base: string): Promise<Answer> {
    const startIndex = Math.max(1, intParam(query, 'startIndex') ?? 1);
    const count = Math.min(MAX_PAGE, Math.max(0, intParam(query, 'count') ?? MAX_PAGE));
    const filterText = query.get('filter');
    const users = this.deps.store.users;
    if (!filterText) {
      const total = await users.countDocuments({});
      const docs = count === 0 ? [] : await users.find({}).sort({ _id: 1 }).skip(startIndex - 1).limit(count).toArray();
      return { status: 200, body: listResponse(await this.renderAll(docs, base), total, startIndex) };
    }
    const f = parseFilter(filterText, 'User');
    const candidates = await users.find(f.query ?? {}).sort({ _id: 1 }).toArray();
    const rendered = await this.renderAll(candidates, base);
    const matched = rendered.filter((r) => f.matches(r));
    return { status: 200, body: listResponse(matched.slice(startIndex - 1, startIndex - 1 + count), matched.length, startIndex) };
  }

  async create(body: unknown, caller: Caller): Promise<Answer> {
    const data = parseUser(body);
    if (await this.deps.store.users.findOne({ userNameKey: data.userName.toLowerCase() }, { projection: { _id: 1 } })) {
      throw new ScimError(409, 'a User with this userName exists already', 'uniqueness');
    }
    const before = await this.adoptable(data);
    const employeeId = before?.employeeId ?? employeeIdOf(data) ?? await this.mintEmployeeId();
    const now = this.deps.clock.now();
    const doc: ScimUserDoc = { _id: newScimId(), employeeId, ...keys(data), data, version: 1, created: now, lastModified: now };
    const next = await this.employeeFor(doc, data, before);
    await this.deps.audit.record('scim.create', caller.token, { resource: 'User', scimId: doc._id, employeeId, change: before ? 'link' : 'create' });
    await this.carryOut(before, next);
    if (!(await this.deps.store.saveUser(doc, 0))) throw new ScimError(409, 'a User with this userName or employee exists already', 'uniqueness');
    return this.answer(201, doc, caller.base);
  }

  async replace(id: string, body: unknown, caller: Caller): Promise<Answer> {
    const doc = await this.current(id, caller.ifMatch);
    return this.update(doc, parseUser(body), caller);
  }

  async patch(id: string, body: unknown, caller: Caller): Promise<Answer> {
    const ops = patchOperations(body);
    const doc = await this.current(id, caller.ifMatch);
    return this.update(doc, applyPatch(doc, ops), caller);
  }

  async delete(id: string, caller: Caller): Promise<Answer> {
    const doc = await this.current(id, caller.ifMatch);
    await this.deps.audit.record('scim.delete', caller.token, { resource: 'User', scimId: doc._id, employeeId: doc.employeeId });
    await this.deps.offboarding.offboard(doc.employeeId, 'scim');
    await this.deps.store.deleteUser(doc._id);
    return { status: 204 };
  }

  /** Deactivation by id (the bench and tests use it as Entra's PATCH would). */
  private async update(doc: ScimUserDoc, data: ScimUserData, caller: Caller): Promise<Answer> {
    const employeeNumber = employeeIdOf(data);
    if (employeeNumber && employeeNumber !== doc.employeeId) throw badRequest('mutability', `attribute ${ENTERPRISE_SCHEMA}:employeeNumber cannot change once the User exists`);
    if (data.userName.toLowerCase() !== doc.userNameKey) {
      const holder = await this.deps.store.users.findOne({ userNameKey: data.userName.toLowerCase() }, { projection: { _id: 1 } });
      if (holder && holder._id !== doc._id) throw new ScimError(409, 'another User has this userName', 'uniqueness');
    }
    const before = await this.deps.directory.byId(doc.employeeId);
    const next = await this.employeeFor(doc, data, before);
    const updated: ScimUserDoc = { ...doc, ...keys(data), data, version: doc.version + 1, lastModified: this.deps.clock.now() };
    if (!data.externalId) delete updated.externalId;
    const deactivating = before !== null && before.status !== 'offboarded' && next.status === 'offboarded';
    await this.deps.audit.record(deactivating ? 'scim.deactivate' : 'scim.update', caller.token, {
      resource: 'User', scimId: doc._id, employeeId: doc.employeeId, change: changeName(before, next),
    });
    await this.carryOut(before, next);
    if (!(await this.deps.store.saveUser(updated, doc.version))) throw new ScimError(409, 'the User changed while this request ran; read it again and retry');
    return this.answer(200, updated, caller.base);
  }

  /** The stored user, checked against If-Match (412 when the client's copy is stale). */
  private async current(id: string, ifMatch: string | undefined): Promise<ScimUserDoc> {
    const doc = await this.deps.store.userById(id);
    if (!doc) throw notFound(`User ${id.slice(0, 64)}`);
    if (ifMatch && ifMatch !== '*' && !ifMatch.split(',').map((t) => t.trim()).includes(etag(doc.version))) {
      throw new ScimError(412, 'the User has changed since the version given in If-Match');
    }
    return doc;
  }

  /** An employee already in the directory (from a CSV import) with this e-mail or employee number, not yet SCIM-managed. */
  private async adoptable(data: ScimUserData): Promise<Employee | null> {
    const byNumber = employeeIdOf(data);
    const email = emailOf(data);
    const existing = (byNumber ? await this.deps.directory.byId(byNumber) : null) ?? await this.deps.directory.byEmail(email);
    if (!existing) return null;
    if (byNumber && existing.employeeId !== byNumber) throw new ScimError(409, 'the e-mail address belongs to another employee than employeeNumber names', 'uniqueness');
    if (await this.deps.store.userByEmployee(existing.employeeId)) throw new ScimError(409, 'this employee is provisioned by another SCIM User already', 'uniqueness');
    return existing;
  }

  private async employeeFor(doc: ScimUserDoc, data: ScimUserData, before: Employee | null): Promise<Employee> {
    let managerId: string | undefined;
    const managerRef = data.enterprise?.manager?.value;
    if (managerRef) {
      const manager = await this.deps.store.userById(managerRef);
      if (!manager) throw badRequest('invalidValue', `attribute ${ENTERPRISE_SCHEMA}:manager must be the id of a User provisioned here`);
      managerId = manager.employeeId;
    }
    const groups = await this.deps.store.groupsOf(doc._id);
    const next = toEmployee(data, this.deps.settings, { employeeId: doc.employeeId, managerId, groupNames: groups.map((g) => g.displayName), before, defaultLocale: this.deps.defaultLocale });
    // A new user's e-mail was checked when it was matched (adoptable); an unchanged one needs no check.
    if (before && before.email !== next.email) {
      const holder = await this.deps.directory.byEmail(next.email);
      if (holder && holder.employeeId !== next.employeeId) throw new ScimError(409, 'the e-mail address belongs to another employee', 'uniqueness');
    }
    if (before?.status === 'offboarded' && next.status !== 'offboarded' && !this.deps.settings.allowReactivation) {
      throw new ScimError(403, 'this employee was offboarded; bringing them back needs CUSTOS_SCIM_ALLOW_REACTIVATION=true (they come back with no grants and must link their chat account again)');
    }
    return next;
  }

  /** Writes the employee and runs the access effects of the change, in the order that leaves no gap. */
  private async carryOut(before: Employee | null, next: Employee): Promise<void> {
    const { offboarding, directory } = this.deps;
    if (before && before.status !== 'offboarded' && next.status === 'offboarded') {
      await offboarding.offboard(next.employeeId, 'scim');
      await writeEmployee(directory, next);
      return;
    }
    if (before?.status === 'offboarded' && next.status !== 'offboarded') {
      await offboarding.reactivate(next.employeeId, next.status, 'scim');
      await writeEmployee(directory, { ...next, chat: {} });
      return;
    }
    await writeEmployee(directory, next);
    if (!before || next.status === 'offboarded') return;
    // A transfer revokes everything, a lost role included; a lost role alone is handled the same way.
    if (before.department !== next.department) await offboarding.transferred(next.employeeId, before.department, next.department, 'scim');
    else if (lostRoles(before.roles, next.roles).length > 0) await offboarding.rolesRemoved(next.employeeId, lostRoles(before.roles, next.roles), 'scim');
  }

  private async mintEmployeeId(): Promise<string> {
    return this.deps.store.reserveEmployeeId(async (id) => !(await this.deps.directory.byId(id)));
  }

  private async answer(status: number, doc: ScimUserDoc, base: string): Promise<Answer> {
    const [rendered] = await this.renderAll([doc], base);
    return { status, body: rendered, etag: etag(doc.version) };
  }

  private async renderAll(docs: ScimUserDoc[], base: string): Promise<Record<string, unknown>[]> {
    if (docs.length === 0) return [];
    const ids = docs.map((d) => d._id);
    const groups = await this.deps.store.groups.find({ members: { $in: ids } }).toArray();
    return docs.map((d) => renderUser(d, groups.filter((g) => g.members.includes(d._id)), base));
  }
}

function keys(data: ScimUserData): Pick<ScimUserDoc, 'userNameKey' | 'emailKeys' | 'externalId'> {
  return {
    userNameKey: data.userName.toLowerCase(),
    emailKeys: (data.emails ?? []).map((e) => e.value.toLowerCase()),
    ...(data.externalId ? { externalId: data.externalId } : {}),
  };
}

function changeName(before: Employee | null, next: Employee): string {
  if (!before) return 'create';
  if (before.status !== 'offboarded' && next.status === 'offboarded') return 'deactivate';
  if (before.status === 'offboarded' && next.status !== 'offboarded') return 'reactivate';
  if (before.department !== next.department) return 'transfer';
  return 'attributes';
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^-?\d{1,9}$/.test(v)) throw badRequest('invalidValue', `${name} must be an integer`);
  return Number(v);
}

/** The employee as SCIM says it is. rowHash is dropped so a later CSV import (--override-scim) rewrites the row. */
export async function writeEmployee(directory: EmployeeStore, e: Employee): Promise<void> {
  const set: Record<string, unknown> = {
    email: e.email, name: e.name, department: e.department, roles: e.roles, region: e.region, timezone: e.timezone,
    locale: e.locale, status: e.status, external: e.external,
  };
  const unset: Record<string, 1> = { rowHash: 1 };
  if (e.managerId) set.managerId = e.managerId; else unset.managerId = 1;
  // SCIM knows no chat ids: `e.chat` is what is stored, or empty on a reactivation (every binding dropped).
  if (!Object.values(e.chat).some(Boolean)) { unset.chat = 1; set.chatKeys = []; }
  await directory.model.collection.updateOne({ employeeId: e.employeeId }, { $set: set, $unset: unset }, { upsert: true });
}
