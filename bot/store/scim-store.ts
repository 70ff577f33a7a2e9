// What SCIM provisioning keeps beside the employee directory: one document per SCIM User (its id, the
// attributes the identity provider sent that custos models, a version for ETags) and per SCIM Group
// (members by SCIM user id). The employee record stays the one the core reads; a SCIM user points at it
// by employeeId, and "this employee is SCIM-managed" means exactly "a scim_users document points at it"
// (the CSV import asks that before it changes someone, import.ts).
// Lookup keys are top-level plain fields (userNameKey, externalId, emailKeys): FerretDB pushes equality on
// top-level fields down to its index, not on dotted paths (models.ts).
import type { Collection, Connection } from 'mongoose';

export const SCIM_USERS = 'scim_users';
export const SCIM_GROUPS = 'scim_groups';
const SCIM_MINTED_IDS = 'scim_minted_ids';

/** The attributes of a SCIM User custos keeps (the rest of what an IdP may send is dropped). */
export interface ScimUserData {
  userName: string;
  externalId?: string;
  name?: { formatted?: string; givenName?: string; familyName?: string; middleName?: string; honorificPrefix?: string; honorificSuffix?: string };
  displayName?: string;
  emails?: { value: string; type?: string; primary?: boolean; display?: string }[];
  active: boolean;
  title?: string;
  userType?: string;
  locale?: string;
  preferredLanguage?: string;
  timezone?: string;
  enterprise?: { employeeNumber?: string; department?: string; manager?: { value: string } };
}

export interface ScimUserDoc {
  _id: string; // the SCIM id
  employeeId: string;
  userNameKey: string; // lower-cased userName (userName is case-insensitive, RFC 7643 §4.1.1)
  externalId?: string;
  emailKeys: string[]; // lower-cased e-mail values
  data: ScimUserData;
  version: number;
  created: Date;
  lastModified: Date;
}

export interface ScimGroupDoc {
  _id: string;
  displayName: string;
  displayNameKey: string;
  externalId?: string;
  members: string[]; // SCIM user ids
  version: number;
  created: Date;
  lastModified: Date;
}

export class ScimStore {
  readonly users: Collection<ScimUserDoc>;
  readonly groups: Collection<ScimGroupDoc>;
  private readonly minted: Collection<{ _id: string }>;

  constructor(conn: Connection) {
    this.users = conn.collection<ScimUserDoc>(SCIM_USERS);
    this.groups = conn.collection<ScimGroupDoc>(SCIM_GROUPS);
    this.minted = conn.collection<{ _id: string }>(SCIM_MINTED_IDS);
  }

  async ensureIndexes(): Promise<void> {
    await this.users.createIndex({ userNameKey: 1 }, { unique: true, name: 'userName_unique' });
    await this.users.createIndex({ employeeId: 1 }, { unique: true, name: 'employeeId_unique' });
    await this.users.createIndex({ externalId: 1 }, { name: 'externalId' });
    await this.users.createIndex({ emailKeys: 1 }, { name: 'emailKeys' });
    await this.groups.createIndex({ displayNameKey: 1 }, { unique: true, name: 'displayName_unique' });
    await this.groups.createIndex({ members: 1 }, { name: 'members' });
  }

  async userById(id: string): Promise<ScimUserDoc | null> {
    return this.users.findOne({ _id: id });
  }

  async userByEmployee(employeeId: string): Promise<ScimUserDoc | null> {
    return this.users.findOne({ employeeId });
  }

  /** Of `employeeIds`, those a SCIM user points at. */
  async managedEmployees(employeeIds: readonly string[]): Promise<Set<string>> {
    const docs = await this.users.find({ employeeId: { $in: [...employeeIds] } }, { projection: { employeeId: 1 } }).toArray();
    return new Set(docs.map((d) => d.employeeId));
  }

  /** Replaces a user document only if it is still at `expectedVersion` (0: insert). */
  async saveUser(doc: ScimUserDoc, expectedVersion: number): Promise<boolean> {
    if (expectedVersion === 0) {
      try {
        await this.users.insertOne(doc);
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code === 11000) return false;
        throw err;
      }
    }
    const res = await this.users.replaceOne({ _id: doc._id, version: expectedVersion }, doc);
    return res.modifiedCount === 1;
  }

  async deleteUser(id: string): Promise<void> {
    await this.users.deleteOne({ _id: id });
    await this.groups.updateMany({ members: id }, { $pull: { members: id } });
  }

  async groupsOf(userId: string): Promise<ScimGroupDoc[]> {
    return this.groups.find({ members: userId }).toArray();
  }

  async saveGroup(doc: ScimGroupDoc, expectedVersion: number): Promise<boolean> {
    if (expectedVersion === 0) {
      try {
        await this.groups.insertOne(doc);
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code === 11000) return false;
        throw err;
      }
    }
    const res = await this.groups.replaceOne({ _id: doc._id, version: expectedVersion }, doc);
    return res.modifiedCount === 1;
  }

  /**
   * Reserves a fresh employee id for a user that brings none (E-900001, …). Reserved by inserting it as a
   * unique `_id`: FerretDB's conditional updates (an `$inc` counter) are not atomic under concurrency,
   * an insert with a unique key is, so two concurrent creates never get the same id.
   */
  async reserveEmployeeId(isFree: (id: string) => Promise<boolean>): Promise<string> {
    let n = 900_001 + await this.minted.countDocuments({});
    for (;;) {
      const id = `E-${n++}`;
      try {
        await this.minted.insertOne({ _id: id });
      } catch (err) {
        if ((err as { code?: unknown }).code === 11000) continue;
        throw err;
      }
      if (await isFree(id)) return id;
    }
  }
}
