// What an employee import changes about who may see what: a row that newly marks someone offboarded, or
// moves them to another department. Decided by comparing each row with the stored employee before the
// write. Decision: someone absent from the file is NOT offboarded. The import is an upsert that accepts
// partial files (one department, an HR delta), so treating absence as leaving would revoke the access
// of everyone missing from a partial or cut-short file; leaving is stated explicitly (status offboarded).
// A row that sets an offboarded employee back to active (or frozen) is a reactivation: refused per row
// unless the import allows it (--allow-reactivation), since an HR file that still lists someone the chat
// platform already offboarded would otherwise quietly restore them (import.ts).
import type { Employee, EmployeeStatus } from '../core/domain.ts';
import type { OffboardResult } from '../core/offboarding.ts';
import type { EmployeeStore } from './employee-store.ts';

export interface Transfer { employeeId: string; from: string; to: string }
export interface Reactivation { employeeId: string; to: Exclude<EmployeeStatus, 'offboarded'> }
export interface EmployeeChanges {
  offboard: string[];
  transfer: Transfer[];
  reactivate: Reactivation[];
  /**
   * Frozen employees whose row says active: they stay frozen. A freeze (an anomaly detector or an admin)
   * is lifted only by an admin's audited Unfreeze; an HR file that lists them as active says nothing
   * about it, and the directory cannot tell the two kinds of freeze apart.
   */
  keepFrozen: string[];
}

/** Carries out the changes (bot/cli/commands/employee-effects.ts): revocations, audit, card updates. */
export interface EmployeeChangeHandler {
  /** Asked before anything of a file with changes is written: false refuses the whole import (fail closed). */
  ready(): Promise<boolean>;
  offboard(employeeId: string): Promise<OffboardResult>;
  transferred(change: Transfer): Promise<OffboardResult>;
  /** Before the row is written: revokes leftovers, drops chat bindings, audits, sets the status. */
  reactivate(change: Reactivation): Promise<OffboardResult>;
}

export interface EmployeeChangeReport { offboarded: OffboardResult[]; transferred: (OffboardResult & Transfer)[]; reactivated: (OffboardResult & Reactivation)[]; keptFrozen: string[] }

/** The changes `rows` would make to the stored directory. */
export async function employeeChanges(store: EmployeeStore, rows: readonly Employee[]): Promise<EmployeeChanges> {
  const stored = await store.model.find({ employeeId: { $in: rows.map((r) => r.employeeId) } }, { employeeId: 1, status: 1, department: 1 }).lean();
  const before = new Map(stored.map((d) => [d.employeeId, d]));
  const changes: EmployeeChanges = { offboard: [], transfer: [], reactivate: [], keepFrozen: [] };
  for (const row of rows) {
    const prev = before.get(row.employeeId);
    if (!prev) continue; // a new employee has nothing to revoke
    if (row.status === 'active' && prev.status === 'frozen') changes.keepFrozen.push(row.employeeId);
    if (row.status === 'offboarded' && prev.status !== 'offboarded') changes.offboard.push(row.employeeId);
    // Back from offboarding: they start from nothing, so a department change is no transfer as well.
    else if (row.status !== 'offboarded' && prev.status === 'offboarded') changes.reactivate.push({ employeeId: row.employeeId, to: row.status });
    else if (row.status !== 'offboarded' && row.department !== prev.department) changes.transfer.push({ employeeId: row.employeeId, from: prev.department, to: row.department });
  }
  return changes;
}

/** `rows` with the frozen employees of `c.keepFrozen` kept frozen (see EmployeeChanges.keepFrozen). */
export function keepingFreezes(rows: readonly Employee[], c: EmployeeChanges): Employee[] {
  if (c.keepFrozen.length === 0) return [...rows];
  const frozen = new Set(c.keepFrozen);
  return rows.map((r) => (frozen.has(r.employeeId) ? { ...r, status: 'frozen' as const } : r));
}

export function hasChanges(c: EmployeeChanges): boolean {
  return changeCount(c) > 0;
}

export function changeCount(c: EmployeeChanges): number {
  return c.offboard.length + c.transfer.length + c.reactivate.length;
}
