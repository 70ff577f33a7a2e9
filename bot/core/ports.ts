// Ports: the small interfaces through which the platform-neutral core talks to the world. The core
// imports no SDK, no bullmq and no mongoose; adapters in bot/store, bot/queue, bot/slack, bot/lark
// implement these.
import type { Customer, Employee, EmployeeStatus } from './domain.ts';
import type { PlatformId } from './platform-id.ts';

import type { ScopeFilter } from '../domain/scope.ts';

export type { ScopeFilter };

/** What a user typed, classified by the query parser. Values are raw user input: never log them. */
export type CustomerQuery =
  | { kind: 'id'; value: string }
  | { kind: 'phone'; value: string }
  | { kind: 'email'; value: string }
  | { kind: 'idNumber'; value: string }
  | { kind: 'text'; value: string }; // name or company fragment, Chinese or Latin

export type QueryKind = CustomerQuery['kind'];

export interface CustomerReader {
  /**
   * Customers matching `query` inside `scope`, at most `limit`, decrypted. Exact kinds (id, phone, e-mail,
   * ID number) go through the customer id or the keyed blind indexes; `text` matches name or company.
   */
  find(query: CustomerQuery, scope: ScopeFilter, limit: number): Promise<Customer[]>;
  /** Streams every customer inside `scope` (exports), decrypted, in customerId order. */
  stream(scope: ScopeFilter): AsyncIterable<Customer>;
}

/** A chat platform whose user ids the directory binds: any registered platform (an open set, platform-id.ts). */
export type ChatPlatform = PlatformId;

export interface EmployeeDirectory {
  byId(employeeId: string): Promise<Employee | null>;
  byEmail(email: string): Promise<Employee | null>;
  byChatId(platform: ChatPlatform, chatUserId: string): Promise<Employee | null>;
  /** Binds a chat identity once (compare-and-swap: only while unbound). Returns the employee, or null if it was already bound elsewhere. */
  bindChatId(employeeId: string, platform: ChatPlatform, chatUserId: string): Promise<Employee | null>;
  /** Compare-and-swap status change; null when the employee is missing or not in `from`. */
  setStatus(employeeId: string, to: EmployeeStatus, from?: EmployeeStatus[]): Promise<Employee | null>;
  /** Drops every chat binding of the employee while their status is `whileStatus` (a reactivation). */
  unbindChat(employeeId: string, whileStatus: EmployeeStatus): Promise<void>;
}

/** Time comes from here, never from `new Date()` in the core, so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
