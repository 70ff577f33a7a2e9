// SCIM Groups: an IdP group whose displayName CUSTOS_SCIM_GROUP_ROLES maps to a custos role gives that
// role to its members (a group without a mapping is kept, and gives nothing). Membership changes
// (PATCH members add/remove, PUT, DELETE) recompute the roles of exactly the users that joined or left;
// the policy decides by current roles, so the change applies to the next lookup. A member who loses a
// role is treated like a transfer (OffboardingService.rolesRemoved): their grants are revoked and pending
// requests cancelled, since a grant approved under the old role must not keep working. `staff` is only
// what a user in no mapped group has, so joining a mapped group takes nothing away. Audited as scim.*
// with the group id and how many employees changed.
import { scimPatch, ScimError as PatchError, type ScimPatchOperation } from 'scim-patch';
import { z } from 'zod';
import type { ScimSettings } from '../config.ts';
import type { OffboardingService } from '../core/offboarding.ts';
import type { Clock } from '../core/ports.ts';
import type { EmployeeStore } from '../store/employee-store.ts';
import type { ScimGroupDoc, ScimStore } from '../store/scim-store.ts';
import type { ScimAudit } from './audit.ts';
import { badRequest, notFound, ScimError } from './errors.ts';
import { parseFilter } from './filter.ts';
import { lostRoles, rolesOf } from './mapping.ts';
import { GROUP_SCHEMA, listResponse, MAX_PAGE, PATCH_SCHEMA } from './protocol.ts';
import { etag } from './user-resource.ts';
import { newScimId, type Answer, type Caller } from './users.ts';

export interface ScimGroupsDeps { store: ScimStore; directory: EmployeeStore; offboarding: OffboardingService; audit: ScimAudit; clock: Clock; settings: ScimSettings }

const groupSchema = z.object({
  displayName: z.string().trim().min(1).max(256),
  externalId: z.string().max(256).optional(),
  members: z.array(z.looseObject({ value: z.string().min(1).max(64) })).max(100_000).optional(),
});

function parseGroup(body: unknown): { displayName: string; externalId?: string; members: string[] } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalidSyntax', 'the body must be a JSON object (a SCIM Group)');
  const { schemas: _s, id: _i, meta: _m, ...rest } = body as Record<string, unknown>;
  for (const key of Object.keys(rest)) if (!['displayname', 'externalid', 'members'].includes(key.toLowerCase())) throw badRequest('invalidValue', `unknown attribute "${key.slice(0, 64)}" for a Group`);
  const parsed = groupSchema.safeParse(rest);
  if (!parsed.success) throw badRequest('invalidValue', `attribute ${parsed.error.issues[0]!.path.join('.') || '(body)'}: ${parsed.error.issues[0]!.message}`);
  return { displayName: parsed.data.displayName, ...(parsed.data.externalId ? { externalId: parsed.data.externalId } : {}), members: [...new Set((parsed.data.members ?? []).map((m) => m.value))] };
}

export class ScimGroups {
  constructor(private readonly deps: ScimGroupsDeps) {}

  async get(id: string, base: string): Promise<Answer> {
    const doc = await this.deps.store.groups.findOne({ _id: id });
    if (!doc) throw notFound(`Group ${id.slice(0, 64)}`);
    return { status: 200, body: render(doc, base), etag: etag(doc.version) };
  }

  async list(query: URLSearchParams, base: string): Promise<Answer> {
    const startIndex = Math.max(1, Number(query.get('startIndex') ?? 1) || 1);
    const count = Math.min(MAX_PAGE, Math.max(0, Number(query.get('count') ?? MAX_PAGE) || 0));
    const text = query.get('filter');
    const f = text ? parseFilter(text, 'Group') : null;
    const docs = await this.deps.store.groups.find(f?.query ?? {}).sort({ _id: 1 }).toArray();
    // excludedAttributes=members is what Entra and Okta ask for when they only need ids.
    const withMembers = !(query.get('excludedAttributes') ?? '').toLowerCase().includes('members');
    const matched = docs.map((d) => render(d, base, withMembers)).filter((r) => !f || f.matches(r));
    return { status: 200, body: listResponse(matched.slice(startIndex - 1, startIndex - 1 + count), matched.length, startIndex) };
  }

  async create(body: unknown, caller: Caller): Promise<Answer> {
    const g = parseGroup(body);
    await this.knownUsers(g.members);
    const now = this.deps.clock.now();
    const doc: ScimGroupDoc = { _id: newScimId(), displayName: g.displayName, displayNameKey: g.displayName.toLowerCase(), members: g.members, version: 1, created: now, lastModified: now, ...(g.externalId ? { externalId: g.externalId } : {}) };
    if (await this.deps.store.groups.findOne({ displayNameKey: doc.displayNameKey })) throw new ScimError(409, 'a Group with this displayName exists already', 'uniqueness');
    await this.deps.audit.record('scim.create', caller.token, { resource: 'Group', scimId: doc._id, count: g.members.length });
    if (!(await this.deps.store.saveGroup(doc, 0))) throw new ScimError(409, 'a Group with this displayName exists already', 'uniqueness');
    await this.recomputeRoles(g.members);
    return { status: 201, body: render(doc, caller.base), etag: etag(doc.version) };
  }

  async replace(id: string, body: unknown, caller: Caller): Promise<Answer> {
    const doc = await this.current(id, caller.ifMatch);
    return this.save(doc, parseGroup(body), caller);
  }

  async patch(id: string, body: unknown, caller: Caller): Promise<Answer> {
    const b = body as { schemas?: unknown; Operations?: unknown };
    if (!b || !Array.isArray(b.schemas) || !b.schemas.includes(PATCH_SCHEMA) || !Array.isArray(b.Operations) || b.Operations.length === 0) {
      throw badRequest('invalidSyntax', `a PATCH body must list the schema ${PATCH_SCHEMA} and a non-empty Operations array`);
    }
    for (const op of b.Operations as { path?: unknown }[]) {
      const path = typeof op?.path === 'string' ? op.path.toLowerCase().replace(`${GROUP_SCHEMA.toLowerCase()}:`, '') : undefined;
      if (path !== undefined && !/^(members|displayname|externalid)\b/.test(path)) throw badRequest('invalidPath', 'PATCH path names no attribute of a Group');
    }
    const doc = await this.current(id, caller.ifMatch);
    const target = { schemas: [GROUP_SCHEMA], displayName: doc.displayName, ...(doc.externalId ? { externalId: doc.externalId } : {}), members: doc.members.map((value) => ({ value })), meta: { created: doc.created, lastModified: doc.lastModified } };
    let patched: Record<string, unknown>;
    try {
      patched = scimPatch(target as never, b.Operations as ScimPatchOperation[], { mutateDocument: false, treatMissingAsAdd: true }) as unknown as Record<string, unknown>;
    } catch (err) {
      if (err instanceof PatchError) throw badRequest(err.scimCode === 'noTarget' ? 'noTarget' : 'invalidPath', `PATCH could not be applied: ${err.name}`);
      throw badRequest('invalidValue', 'PATCH could not be applied to the Group');
    }
    return this.save(doc, parseGroup(patched), caller);
  }

  async delete(id: string, caller: Caller): Promise<Answer> {
    const doc = await this.current(id, caller.ifMatch);
    await this.deps.audit.record('scim.delete', caller.token, { resource: 'Group', scimId: doc._id, count: doc.members.length });
    await this.deps.store.groups.deleteOne({ _id: doc._id });
    await this.recomputeRoles(doc.members);
    return { status: 204 };
  }

  private async save(doc: ScimGroupDoc, g: { displayName: string; externalId?: string; members: string[] }, caller: Caller): Promise<Answer> {
    await this.knownUsers(g.members.filter((m) => !doc.members.includes(m)));
    const renamed = g.displayName.toLowerCase() !== doc.displayNameKey;
    if (renamed && await this.deps.store.groups.findOne({ displayNameKey: g.displayName.toLowerCase() })) throw new ScimError(409, 'a Group with this displayName exists already', 'uniqueness');
    const next: ScimGroupDoc = { ...doc, displayName: g.displayName, displayNameKey: g.displayName.toLowerCase(), members: g.members, version: doc.version + 1, lastModified: this.deps.clock.now() };
    if (g.externalId) next.externalId = g.externalId; else delete next.externalId;
    // A rename can change the role it maps to, so then every member is affected.
    const affected = renamed ? [...new Set([...doc.members, ...g.members])] : symmetricDifference(doc.members, g.members);
    await this.deps.audit.record('scim.update', caller.token, { resource: 'Group', scimId: doc._id, change: renamed ? 'rename' : 'members', count: affected.length });
    if (!(await this.deps.store.saveGroup(next, doc.version))) throw new ScimError(409, 'the Group changed while this request ran; read it again and retry');
    await this.recomputeRoles(affected);
    return { status: 200, body: render(next, caller.base), etag: etag(next.version) };
  }

  private async current(id: string, ifMatch: string | undefined): Promise<ScimGroupDoc> {
    const doc = await this.deps.store.groups.findOne({ _id: id });
    if (!doc) throw notFound(`Group ${id.slice(0, 64)}`);
    if (ifMatch && ifMatch !== '*' && !ifMatch.split(',').map((t) => t.trim()).includes(etag(doc.version))) throw new ScimError(412, 'the Group has changed since the version given in If-Match');
    return doc;
  }

  /** Members must be Users provisioned here; refused before anything changes otherwise. */
  private async knownUsers(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const found = await this.deps.store.users.countDocuments({ _id: { $in: ids } });
    if (found !== ids.length) throw badRequest('invalidValue', 'members must be ids of Users provisioned here');
  }

  /**
   * Writes each user's roles from their groups; a member who lost a role then has their grants and
   * pending requests revoked (the new roles are in place first, so nothing is granted again meanwhile).
   */
  private async recomputeRoles(userIds: string[]): Promise<void> {
    for (const id of userIds) {
      const user = await this.deps.store.userById(id);
      if (!user) continue;
      const before = await this.deps.directory.byId(user.employeeId);
      const roles = rolesOf((await this.deps.store.groupsOf(id)).map((g) => g.displayName), this.deps.settings);
      await this.deps.directory.model.collection.updateOne({ employeeId: user.employeeId }, { $set: { roles }, $unset: { rowHash: 1 } });
      const lost = before && before.status !== 'offboarded' ? lostRoles(before.roles, roles) : [];
      if (lost.length > 0) await this.deps.offboarding.rolesRemoved(user.employeeId, lost, 'scim');
    }
  }
}

function symmetricDifference(a: string[], b: string[]): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((x) => !sb.has(x)), ...b.filter((x) => !sa.has(x))];
}

function render(doc: ScimGroupDoc, base: string, withMembers = true): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA], id: doc._id, displayName: doc.displayName, ...(doc.externalId ? { externalId: doc.externalId } : {}),
    ...(withMembers ? { members: doc.members.map((value) => ({ value, $ref: `${base}/Users/${value}` })) } : {}),
    meta: { resourceType: 'Group', created: doc.created.toISOString(), lastModified: doc.lastModified.toISOString(), location: `${base}/Groups/${doc._id}`, version: etag(doc.version) },
  };
}
