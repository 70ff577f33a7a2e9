// Employees in MongoDB: the EmployeeDirectory the core resolves chat users through (with compare-and-swap
// chat binding and status changes), plus the idempotent bulk upsert used by the importer and the seed.
import { createHash } from 'node:crypto';
import type { Connection, Model } from 'mongoose';
import type { Employee, EmployeeStatus } from '../core/domain.ts';
import type { ChatPlatform, EmployeeDirectory } from '../core/ports.ts';
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
    chat: {},
  };
  if (doc.managerId) e.managerId = doc.managerId;
  if (doc.chat?.slack) e.chat.slack = doc.chat.slack;
  if (doc.chat?.lark) e.chat.lark = doc.chat.lark;
  if (doc.chat?.dingtalk) e.chat.dingtalk = doc.chat.dingtalk;
  if (doc.chat?.wecom) e.chat.wecom = doc.chat.wecom;
  return e;
}

/** Employee data is not secret, so a plain hash suffices to notice an unchanged re-import. */
function employeeDigest(e: Employee): string {
  const picked: Record<string, unknown> = { employeeId: e.employeeId };
  for (const f of IMPORTED_FIELDS) picked[f] = f === 'email' ? e.email.toLowerCase() : e[f];
  if (e.chat.slack) picked.slack = e.chat.slack;
  if (e.chat.lark) picked.lark = e.chat.lark;
  if (e.chat.dingtalk) picked.dingtalk = e.chat.dingtalk;
  if (e.chat.wecom) picked.wecom = e.chat.wecom;
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

  async byChatId(platform: ChatPlatform, chatUserId: string): Promise<Employee | null> {
    return this.one({ [`chat.${platform}`]: chatUserId });
  }

  async bindChatId(employeeId: string, platform: ChatPlatform, chatUserId: string): Promise<Employee | null> {
    const path = `chat.${platform}`;
    const holder = await this.byChatId(platform, chatUserId);
    if (holder) return holder.employeeId === employeeId ? holder : null;
    const bound = await this.model.findOneAndUpdate(
      { employeeId, [path]: { $exists: false } },
      { $set: { [path]: chatUserId } },
      { returnDocument: 'after' },
    ).lean<EmployeeDoc>();
    if (!bound) {
      // Already bound: fine only when it is bound to this very chat user (a repeated call).
      const current = await this.byId(employeeId);
      return current?.chat[platform] === chatUserId ? current : null;
    }
    // Two employees may have raced for the same chat id; the index is not unique (see models.ts), so
    // check after the write and let the earlier binding win.
    const holders = await this.model.find({ [path]: chatUserId }, { employeeId: 1 }).sort({ employeeId: 1 }).lean<EmployeeDoc[]>();
    if (holders.length > 1 && holders.some((h) => h.employeeId !== employeeId)) {
      await this.model.updateOne({ employeeId, [path]: chatUserId }, { $unset: { [path]: 1 } });
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
    await this.model.updateOne({ employeeId, status: whileStatus }, { $unset: { 'chat.slack': 1, 'chat.lark': 1, 'chat.dingtalk': 1, 'chat.wecom': 1 } });
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
      if (e.chat.slack) set['chat.slack'] = e.chat.slack;
      if (e.chat.lark) set['chat.lark'] = e.chat.lark;
      if (e.chat.dingtalk) set['chat.dingtalk'] = e.chat.dingtalk;
      if (e.chat.wecom) set['chat.wecom'] = e.chat.wecom;
      // On insert the upsert takes employeeId from the equality filter.
      const update: Record<string, unknown> = { $set: set };
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
