// Employee facts for report cells: id → name and department, from the directory (staff, not customers;
// the log itself holds ids only). An id the directory no longer knows is shown as the id alone.
import type { ReportSource } from './source.ts';

export async function nameOf(source: ReportSource, id: string | null | undefined): Promise<string> {
  return (await source.employee(id))?.name ?? '';
}

export async function departmentOf(source: ReportSource, id: string | null | undefined): Promise<string> {
  return (await source.employee(id))?.department ?? '';
}

export async function namesOf(source: ReportSource, ids: readonly string[]): Promise<string> {
  return (await Promise.all(ids.map((id) => nameOf(source, id)))).join(' ');
}
