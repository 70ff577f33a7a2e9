// Employees in MongoDB: the EmployeeDirectory the core resolves chat users through (with compare-and-swap
// chat binding and status changes), plus the idempotent bulk upsert used by the importer and the seed.
import { createHash } from 'node:crypto';
import type { Connection, Model } from 'mongoose';
import type { ChatIdentities, Employee, EmployeeStatus } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import { isPlatformId, type PlatformId } from '../core/platform-id.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import { canonicalJson } from './customer-doc.ts';
import { employeeModel, type EmployeeDoc } from './models.ts';
import { UPDATE_CHUNK, type UpsertCounts } from './customer-store.ts';

/** Fields an import or seed owns. Chat bindings are not among them unless the import gives them. */
const IMPORTED_FIELDS = ['email', 'name', 'department', 'roles', 'managerId', 'region', 'timezone', 'locale', 'status', 'external'] as const;

export function fromEmployeeDoc(doc: EmployeeDoc): Employee {
  const e: Employee = {
    employeeId: doc.employeeId,
    email: doc.email,
    name: doc.name,
    department: doc.department,
    roles: [...doc.roles],
    region: doc.region,
    timezone: doc.timezone,
    locale: doc.locale,
    status: doc.status,
    external: doc.external,
    chat: chatOf(doc),
  };
  if (doc.managerId) e.managerId = doc.managerId;
  return e;
}

/** The stored map, old documents included: only well-formed platform ids with a non-empty id count. */
function chatOf(doc: EmployeeDoc): ChatIdentities {
  const chat: ChatIdentities = {};
  for (const [platform, id] of Object.entries(doc.chat ?? {})) {
    if (isPlatformId(platform) && typeof id === 'string' && id !== '') chat[platform] = id;
  }
  return chat;
}

/** The lookup key of one binding (platform ids hold no ':', so the pair is unambiguous). */
export function chatKey(platform: PlatformId, chatUserId: string): string {
  return `${platform}:${chatUserId}`;
}

/** The lookup keys of every binding in `chat`, sorted. */
export function chatKeysOf(chat: ChatIdentities): string[] {
  return Object.entries(chat).filter(([, id]) => Boolean(id)).map(([p, id]) => chatKey(p, id!)).sort();
}

/** Which platform's bindings an update touches, as MongoDB `$set` paths (ids validated: a path segment). */
function chatSets(chat: ChatIdentities): Record<string, string> {
  const set: Record<string, string> = {};
  for (const [platform, id] of Object.entries(chat)) {
    if (!id) continue;
    if (!isPlatformId(platform)) throw new CustosError(ErrorCode.Internal, 'not a platform id', { platform });
    set[`chat.${platform}`] = id;
  }
  return set;
}

/** Employee data is not secret, so a plain hash suffices to notice an unchanged re-import. */
function employeeDigest(e: Employee): string {
  const picked: Record<string, unknown> = { employeeId: e.employeeId };
  for (const f of IMPORTED_FIELDS) picked[f] = f === 'email' ? e.email.toLowerCase() : e[f];
  // Each binding under its platform id, as before the map opened, so existing digests still match.
  for (const [platform, id] of Object.entries(e.chat)) if (id) picked[platform] = id;
  return createHash('sha256').update(canonicalJson(picked)).digest('base64url');
}

export class EmployeeStore implements EmployeeDirectory {
  readonly model: Model<EmployeeDoc>;

  constructor(conn: Connection) {
    this.model = employeeModel(conn);
  }

  async byId(employeeId: string): Promise<Employee | null> {
    return this.one({ employeeId });
  }

  async byEmail(email: string): Promise<Employee | null> {
    return this.one({ email: email.trim().toLowerCase() });
  }

  /**
   * Through the key index; the map is the truth (a key left behind when an import changed a bound id
   * finds a candidate that the map then rules out).
   */
  async byChatId(platform: PlatformId, chatUserId: string): Promise<Employee | null> {
    if (!isPlatformId(platform)) return null;
    const docs = await this.model.find({ chatKeys: chatKey(platform, chatUserId) }).sort({ employeeId: 1 }).limit(8).lean<EmployeeDoc[]>();
    const doc = docs.find((d) => chatOf(d)[platform] === chatUserId);
    return doc ? fromEmployeeDoc(doc) : null;
  }

  async bindChatId(employeeId: string, platform: PlatformId, chatUserId: string): Promise<Employee | null> {
    if (!isPlatformId(platform)) throw new CustosError(ErrorCode.Internal, 'not a platform id', { platform });
    const path = `chat.${platform}`;
    const key = chatKey(platform, chatUserId);
    const holder = await this.byChatId(platform, chatUserId);
    if (holder) return holder.employeeId === employeeId ? holder : null;
    // The keys of the bindings it holds already go in too: a document not yet migrated (written by an
    // older version) keeps all of them findable once it has a key list.
    const held = await this.model.findOne({ employeeId }, { chat: 1 }).lean<EmployeeDoc>();
    const bound = await this.model.findOneAndUpdate(
      { employeeId, [path]: { $exists: false } },
      { $set: { [path]: chatUserId }, $addToSet: { chatKeys: { $each: [...(held ? chatKeysOf(chatOf(held)) : []), key] } } },
      { returnDocument: 'after' },
    ).lean<EmployeeDoc>();
    if (!bound) {
      // Already bound: fine only when it is bound to this very chat user (a repeated call).
      const current = await this.byId(employeeId);
      return current?.chat[platform] === chatUserId ? current : null;
    }
    // Two employees may have raced for the same chat id; the index is not unique (see models.ts), so
    // check after the write and let the earlier binding win.
    const holders = await this.model.find({ chatKeys: key, [path]: chatUserId }, { employeeId: 1 }).sort({ employeeId: 1 }).lean<EmployeeDoc[]>();
    if (holders.length > 1 && holders.some((h) => h.employeeId !== employeeId)) {
      await this.model.updateOne({ employeeId, [path]: chatUserId }, { $unset: { [path]: 1 }, $pull: { chatKeys: key } });
      return null;
    }
    return fromEmployeeDoc(bound);
  }

  async setStatus(employeeId: string, to: EmployeeStatus, from?: EmployeeStatus[]): Promise<Employee | null> {
    const filter: Record<string, unknown> = { employeeId };
    if (from) filter.status = { $in: from };
    const doc = await this.model.findOneAndUpdate(filter, { $set: { status: to } }, { returnDocument: 'after' }).lean<EmployeeDoc>();
    return doc ? fromEmployeeDoc(doc) : null;
  }

  async unbindChat(employeeId: string, whileStatus: EmployeeStatus): Promise<void> {
    await this.model.updateOne({ employeeId, status: whileStatus }, { $unset: { chat: 1 }, $set: { chatKeys: [] } });
  }

  /**
   * Documents written before the chat map had its key index (no `chatKeys`) get their keys from the map
   * they already hold; the map itself keeps its shape. Idempotent: documents that have keys are left
   * alone, so a bind that raced with this keeps its own. Run by ensureIndexes (db.ts) before serving.
   */
  async migrateChatKeys(): Promise<number> {
    let migrated = 0;
    const old = await this.model.find({ chatKeys: { $exists: false } }, { employeeId: 1, chat: 1 }).sort({ employeeId: 1 }).lean<EmployeeDoc[]>();
    for (let i = 0; i < old.length; i += UPDATE_CHUNK) { // FerretDB: see UPDATE_CHUNK
      const ops = old.slice(i, i + UPDATE_CHUNK).map((d) => ({
        updateOne: { filter: { employeeId: d.employeeId, chatKeys: { $exists: false } }, update: { $set: { chatKeys: chatKeysOf(chatOf(d)) } } },
      }));
      migrated += (await this.model.collection.bulkWrite(ops, { ordered: false })).modifiedCount;
    }
    return migrated;
  }

  /** Every employee (the directory is small), sorted by id. */
  async all(): Promise<Employee[]> {
    const docs = await this.model.find({}).sort({ employeeId: 1 }).lean<EmployeeDoc[]>();
    return docs.map(fromEmployeeDoc);
  }

  /**
   * Upserts employees by employeeId. Imported fields are set (optional ones missing from the row are
   * removed); chat bindings are set only when given, so re-importing the directory keeps the bindings
   * made in chat. Unchanged employees are not written, except those in `rewrite` (a reactivation
   * changed the stored status and bindings behind the row's digest).
   */
  async upsertMany(employees: readonly Employee[], rewrite: ReadonlySet<string> = new Set()): Promise<UpsertCounts> {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
    if (employees.length === 0) return counts;
    const ids = employees.map((e) => e.employeeId);
    const existing = new Map<string, string | undefined>();
    for (const d of await this.model.find({ employeeId: { $in: ids } }, { employeeId: 1, rowHash: 1 }).lean<EmployeeDoc[]>()) {
      existing.set(d.employeeId, d.rowHash);
    }
    const ops = [];
    for (const e of employees) {
      const rowHash = employeeDigest(e);
      if (existing.has(e.employeeId) && existing.get(e.employeeId) === rowHash && !rewrite.has(e.employeeId)) { counts.unchanged++; continue; }
      const set: Record<string, unknown> = { rowHash };
      const unset: Record<string, 1> = {};
      for (const f of IMPORTED_FIELDS) {
        const v = f === 'email' ? e.email.trim().toLowerCase() : e[f];
        if (v === undefined) unset[f] = 1; else set[f] = v;
      }
      Object.assign(set, chatSets(e.chat));
      // On insert the upsert takes employeeId from the equality filter. Keys are added, never replaced:
      // bindings made in chat since stay findable (a replaced id leaves a key the map rules out).
      const update: Record<string, unknown> = { $set: set, $addToSet: { chatKeys: { $each: chatKeysOf(e.chat) } } };
      if (Object.keys(unset).length > 0) update.$unset = unset;
      ops.push({ updateOne: { filter: { employeeId: e.employeeId }, update, upsert: true } });
    }
    for (let i = 0; i < ops.length; i += UPDATE_CHUNK) { // FerretDB: see UPDATE_CHUNK
      const res = await this.model.collection.bulkWrite(ops.slice(i, i + UPDATE_CHUNK), { ordered: false });
      counts.inserted += res.upsertedCount;
      counts.updated += res.matchedCount;
    }
    return counts;
  }

  private async one(filter: Record<string, unknown>): Promise<Employee | null> {
    const doc = await this.model.findOne(filter).lean<EmployeeDoc>();
    return doc ? fromEmployeeDoc(doc) : null;
  }
}
