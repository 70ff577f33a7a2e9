// What an employee import changes about who may see what: a row that newly marks someone offboarded, or
// moves them to another department. Decided by comparing each row with the stored employee before the
// write. Decision: someone absent from the file is NOT offboarded. The import is an upsert that accepts
// partial files (one department, an HR delta), so treating absence as leaving would revoke the access
// of everyone missing from a partial or cut-short file; leaving is stated explicitly (status offboarded).
import type { Employee } from '../core/domain.ts';
import type { OffboardResult } from '../core/offboarding.ts';
import type { EmployeeStore } from './employee-store.ts';

export interface Transfer { employeeId: string; from: string; to: string }
export interface EmployeeChanges { offboard: string[]; transfer: Transfer[] }

/** Carries out the changes (bot/cli/commands/employee-effects.ts): revocations, audit, card updates. */
export interface EmployeeChangeHandler {
  /** Asked before anything of a file with changes is written: false refuses the whole import (fail closed). */
  ready(): Promise<boolean>;
  offboard(employeeId: string): Promise<OffboardResult>;
  transferred(change: Transfer): Promise<OffboardResult>;
}

export interface EmployeeChangeReport { offboarded: OffboardResult[]; transferred: (OffboardResult & Transfer)[] }

/** The changes `rows` would make to the stored directory. */
export async function employeeChanges(store: EmployeeStore, rows: readonly Employee[]): Promise<EmployeeChanges> {
  const stored = await store.model.find({ employeeId: { $in: rows.map((r) => r.employeeId) } }, { employeeId: 1, status: 1, department: 1 }).lean();
  const before = new Map(stored.map((d) => [d.employeeId, d]));
  const changes: EmployeeChanges = { offboard: [], transfer: [] };
  for (const row of rows) {
    const prev = before.get(row.employeeId);
    if (!prev) continue; // a new employee has nothing to revoke
    if (row.status === 'offboarded' && prev.status !== 'offboarded') changes.offboard.push(row.employeeId);
    else if (row.status !== 'offboarded' && row.department !== prev.department) changes.transfer.push({ employeeId: row.employeeId, from: prev.department, to: row.department });
  }
  return changes;
}

export function hasChanges(c: EmployeeChanges): boolean {
  return c.offboard.length > 0 || c.transfer.length > 0;
}
