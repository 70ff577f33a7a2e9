// The domain as the core sees it: plain values, no database or SDK types.
// Field groups follow DESIGN.md (Domain): each group is owned by a department and is the unit that
// policies decide on and grants widen.

export const DEPARTMENTS = ['sales', 'marketing', 'support', 'orders', 'finance', 'legal', 'compliance', 'it'] as const;
export type Department = (typeof DEPARTMENTS)[number];

export const ROLES = ['staff', 'lead', 'head', 'admin', 'auditor', 'dpo'] as const;
export type Role = (typeof ROLES)[number];

export const EMPLOYEE_STATUSES = ['active', 'frozen', 'offboarded'] as const;
export type EmployeeStatus = (typeof EMPLOYEE_STATUSES)[number];

export const REGIONS = ['north', 'east', 'south', 'west', 'central', 'overseas'] as const;
export type Region = (typeof REGIONS)[number];

export const CUSTOMER_TYPES = ['person', 'company'] as const;
export const CUSTOMER_TIERS = ['standard', 'silver', 'gold', 'platinum'] as const;
export const CUSTOMER_STATUSES = ['lead', 'active', 'churned', 'blocked'] as const;
export const SALES_STAGES = ['prospect', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
export const PAYMENT_STATUSES = ['current', 'overdue', 'in_collection', 'settled'] as const;
export const CREDIT_RATINGS = ['AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'C'] as const;

/** Field groups and their fields, in display order. `customerId` belongs to no group: it is always shown. */
export const FIELD_GROUPS = {
  profile: ['name', 'type', 'company', 'industry', 'region', 'tier', 'ownerId', 'status'],
  contact: ['phone', 'email', 'address', 'wechat'],
  identity: ['idNumber', 'birthDate'],
  marketing: ['leadSource', 'campaigns', 'interests'],
  sales: ['stage', 'pipelineValue', 'lastContactAt', 'followUps'],
  finance: ['contractAmount', 'outstanding', 'paymentStatus', 'creditRating', 'bankAccount'],
  support: ['openTickets', 'lastTicketAt', 'satisfaction', 'afterSalesNotes'],
  legal: ['contracts', 'disputes'],
} as const;
export type FieldGroup = keyof typeof FIELD_GROUPS;
export type CustomerField = (typeof FIELD_GROUPS)[FieldGroup][number];
export const FIELD_GROUP_NAMES = Object.keys(FIELD_GROUPS) as FieldGroup[];
export const CUSTOMER_FIELDS: readonly CustomerField[] = FIELD_GROUP_NAMES.flatMap((g) => FIELD_GROUPS[g]);

/** The department that owns (and approves access to) each group. */
export const GROUP_OWNER: Record<FieldGroup, Department | null> = {
  profile: null,
  contact: 'sales',
  identity: 'legal',
  marketing: 'marketing',
  sales: 'sales',
  finance: 'finance',
  support: 'support',
  legal: 'legal',
};

/**
 * Values stored encrypted at rest (sealed under the customer's own data key, bot/store/envelope.ts) and
 * never logged: everything that identifies a person or may hold personal data in free text. What stays
 * plaintext are closed-set and numeric fields that policy scopes filter on (region, owner, status …).
 */
export const SENSITIVE_FIELDS = [
  'name', 'company', 'phone', 'email', 'address', 'wechat', 'idNumber', 'birthDate', 'bankAccount',
  'followUps', 'afterSalesNotes', 'contracts', 'disputes',
] as const;
export type SensitiveField = (typeof SENSITIVE_FIELDS)[number];

export function groupOf(field: CustomerField): FieldGroup {
  for (const g of FIELD_GROUP_NAMES) if ((FIELD_GROUPS[g] as readonly string[]).includes(field)) return g;
  throw new Error(`unknown field ${field}`);
}

export interface FollowUp { at: Date; by: string; note: string }
export interface Contract { contractNo: string; title: string; signedAt: Date; amount: number }

/** A customer in plaintext, as the core works with it after decryption. */
export interface Customer {
  customerId: string; // C-000123, immutable
  // profile
  name: string;
  type: (typeof CUSTOMER_TYPES)[number];
  company?: string;
  industry?: string;
  region: Region;
  tier: (typeof CUSTOMER_TIERS)[number];
  ownerId: string; // employeeId of the owning sales rep
  status: (typeof CUSTOMER_STATUSES)[number];
  // contact
  phone?: string;
  email?: string;
  address?: string;
  wechat?: string;
  // identity
  idNumber?: string;
  birthDate?: string; // YYYY-MM-DD
  // marketing
  leadSource?: string;
  campaigns?: string[];
  interests?: string[];
  // sales
  stage?: (typeof SALES_STAGES)[number];
  pipelineValue?: number; // CNY
  lastContactAt?: Date;
  followUps?: FollowUp[];
  // finance
  contractAmount?: number; // CNY
  outstanding?: number; // CNY
  paymentStatus?: (typeof PAYMENT_STATUSES)[number];
  creditRating?: (typeof CREDIT_RATINGS)[number];
  bankAccount?: string;
  // support
  openTickets?: number;
  lastTicketAt?: Date;
  satisfaction?: number; // 1..5
  afterSalesNotes?: string;
  // legal
  contracts?: Contract[];
  disputes?: string[];
}

/** An employee's user id on each chat platform, keyed by platform id (an open set: platform-id.ts). */
export type ChatIdentities = { [platform: string]: string | undefined };

export interface Employee {
  employeeId: string; // E-0001
  email: string;
  name: string;
  department: Department;
  roles: Role[];
  managerId?: string;
  region: Region;
  timezone: string; // IANA, e.g. Asia/Shanghai
  locale: 'zh-CN' | 'en';
  status: EmployeeStatus;
  external: boolean; // guests, Slack Connect, Lark external contacts
  chat: ChatIdentities;
}
