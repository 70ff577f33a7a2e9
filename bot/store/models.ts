// The mongoose models of record for customers and employees: document shapes and every index a lookup
// path needs. Documents are converted to and from domain objects only in customer-doc.ts / employee-doc.ts.
//
// Customer documents keep every NON-sensitive field (closed sets and numbers) in plaintext at the top
// level under the same name as in bot/core/domain.ts, because the policy engine's record-scope filters
// (`{ ownerId: 'E-0001' }`, `{ region: 'east' }`) run directly against this collection. Every personal
// value (SENSITIVE_FIELDS: name, company, contact, identity, bank account, free-text notes) lives only
// in `sealed`, encrypted under the customer's own data key, which is stored wrapped in `dek` (crypto.ts);
// phone / email / idNumber also get keyed blind indexes, name and company keyed n-gram `tokens`.
// A customer's `_id` is its customerId (a string): writes address documents by `_id`, the one field
// FerretDB pushes down to its storage, so bulk upserts never scan the collection (customer-store.ts).
//
// FerretDB 1.24 and MongoDB >= 6 both: no TTL, partial, sparse, text or collation indexes.
import { Schema, type Connection, type Model } from 'mongoose';
import {
  CREDIT_RATINGS, CUSTOMER_STATUSES, CUSTOMER_TIERS, CUSTOMER_TYPES, DEPARTMENTS, EMPLOYEE_STATUSES,
  PAYMENT_STATUSES, REGIONS, ROLES, SALES_STAGES,
} from '../core/domain.ts';

export const CUSTOMER_COLLECTION = 'customers';
export const EMPLOYEE_COLLECTION = 'employees';

/** Blind indexes (HMAC-SHA256, base64url) of the normalised phone / e-mail / ID number. */
/**
 * Blind indexes are top-level fields (not `bi.phone`): FerretDB pushes equality on top-level fields down
 * to its backend's index, but filters on dotted paths scan the whole collection.
 */
export interface BlindIndexes { biPhone?: string; biEmail?: string; biIdNumber?: string }

/** A stored customer exactly as it sits in the collection. */
export interface CustomerDoc {
  /** Equal to customerId once stored; absent on documents being built. */
  _id?: string;
  customerId: string;
  type: (typeof CUSTOMER_TYPES)[number];
  industry?: string;
  region: (typeof REGIONS)[number];
  tier: (typeof CUSTOMER_TIERS)[number];
  ownerId: string;
  status: (typeof CUSTOMER_STATUSES)[number];
  leadSource?: string;
  campaigns?: string[];
  interests?: string[];
  stage?: (typeof SALES_STAGES)[number];
  pipelineValue?: number;
  lastContactAt?: Date;
  contractAmount?: number;
  outstanding?: number;
  paymentStatus?: (typeof PAYMENT_STATUSES)[number];
  creditRating?: (typeof CREDIT_RATINGS)[number];
  openTickets?: number;
  lastTicketAt?: Date;
  satisfaction?: number;
  /** The customer's data key, wrapped by a master key: `<masterKeyId>:<iv>:<tag>:<ciphertext>`. */
  dek: string;
  /** Id of the master key `dek` is wrapped under (equality-indexed: `keys status`, `keys rotate`). */
  kek: string;
  /** Every personal value as one JSON object sealed under the data key: `<iv>:<tag>:<ciphertext>`. */
  sealed: string;
  biPhone?: string;
  biEmail?: string;
  biIdNumber?: string;
  /** Keyed 64-bit tokens of the n-grams of the normalised name and company (search-tokens.ts). */
  tokens: string[];
  /** Keyed digest of the plaintext customer: an import of identical content changes nothing. */
  rowHash: string;
}

export interface EmployeeDoc {
  employeeId: string;
  email: string; // stored lower-case
  name: string;
  department: (typeof DEPARTMENTS)[number];
  roles: (typeof ROLES)[number][];
  managerId?: string;
  region: (typeof REGIONS)[number];
  timezone: string;
  locale: 'zh-CN' | 'en';
  status: (typeof EMPLOYEE_STATUSES)[number];
  external: boolean;
  /** User id per chat platform, keyed by platform id (an open set: bot/core/platform-id.ts). */
  chat?: Record<string, string>;
  /**
   * `<platform>:<user id>` for every binding in `chat`: what byChatId looks up, through one index for
   * every platform (an open map cannot be indexed per key without knowing the keys; FerretDB has no
   * wildcard index). Absent on documents written before it existed: migrateChatKeys() fills it in.
   */
  chatKeys?: string[];
  /** Keyed digest of the imported fields (not chat bindings), for unchanged detection on re-import. */
  rowHash?: string;
}

export const customerSchema = new Schema<CustomerDoc>({
  _id: { type: String }, // = customerId (see above); declared so mongoose does not cast it to an ObjectId
  customerId: { type: String, required: true },
  type: { type: String, enum: CUSTOMER_TYPES, required: true },
  industry: String,
  region: { type: String, enum: REGIONS, required: true },
  tier: { type: String, enum: CUSTOMER_TIERS, required: true },
  ownerId: { type: String, required: true },
  status: { type: String, enum: CUSTOMER_STATUSES, required: true },
  leadSource: String,
  campaigns: { type: [String], default: undefined },
  interests: { type: [String], default: undefined },
  stage: { type: String, enum: SALES_STAGES },
  pipelineValue: Number,
  lastContactAt: Date,
  contractAmount: Number,
  outstanding: Number,
  paymentStatus: { type: String, enum: PAYMENT_STATUSES },
  creditRating: { type: String, enum: CREDIT_RATINGS },
  openTickets: Number,
  lastTicketAt: Date,
  satisfaction: Number,
  dek: { type: String, required: true },
  kek: { type: String, required: true },
  sealed: { type: String, required: true },
  biPhone: String,
  biEmail: String,
  biIdNumber: String,
  tokens: { type: [String], required: true },
  rowHash: { type: String, required: true },
}, { collection: CUSTOMER_COLLECTION, versionKey: false, minimize: true, autoIndex: false, strict: 'throw' });

// One index per lookup path. Blind-index indexes are not unique: two customers may share a phone.
customerSchema.index({ customerId: 1 }, { unique: true, name: 'customerId_unique' });
customerSchema.index({ biPhone: 1 }, { name: 'bi_phone' });
customerSchema.index({ biEmail: 1 }, { name: 'bi_email' });
customerSchema.index({ biIdNumber: 1 }, { name: 'bi_idNumber' });
customerSchema.index({ tokens: 1 }, { name: 'tokens' });
customerSchema.index({ ownerId: 1, customerId: 1 }, { name: 'owner_customer' });
customerSchema.index({ region: 1, customerId: 1 }, { name: 'region_customer' });
// `keys status` / `keys rotate`: customers per master key id.
customerSchema.index({ kek: 1, customerId: 1 }, { name: 'kek_customer' });

export const employeeSchema = new Schema<EmployeeDoc>({
  employeeId: { type: String, required: true },
  email: { type: String, required: true },
  name: { type: String, required: true },
  department: { type: String, enum: DEPARTMENTS, required: true },
  roles: { type: [String], enum: ROLES, required: true },
  managerId: String,
  region: { type: String, enum: REGIONS, required: true },
  timezone: { type: String, required: true },
  locale: { type: String, enum: ['zh-CN', 'en'], required: true },
  status: { type: String, enum: EMPLOYEE_STATUSES, required: true },
  external: { type: Boolean, required: true },
  chat: { type: Map, of: String },
  chatKeys: { type: [String], default: undefined },
  rowHash: String,
}, { collection: EMPLOYEE_COLLECTION, versionKey: false, minimize: true, autoIndex: false, strict: 'throw' });

employeeSchema.index({ employeeId: 1 }, { unique: true, name: 'employeeId_unique' });
employeeSchema.index({ email: 1 }, { unique: true, name: 'email_unique' });
// Not unique: most employees have no binding, and FerretDB supports neither sparse nor partial indexes,
// so uniqueness of a binding is enforced by the compare-and-swap in employee-store.ts instead.
employeeSchema.index({ chatKeys: 1 }, { name: 'chat_keys' });
employeeSchema.index({ managerId: 1 }, { name: 'managerId' });

/** The Customer model on `conn` (compiled once per connection). */
export function customerModel(conn: Connection): Model<CustomerDoc> {
  return (conn.models.Customer as Model<CustomerDoc> | undefined) ?? conn.model<CustomerDoc>('Customer', customerSchema);
}

export function employeeModel(conn: Connection): Model<EmployeeDoc> {
  return (conn.models.Employee as Model<EmployeeDoc> | undefined) ?? conn.model<EmployeeDoc>('Employee', employeeSchema);
}
