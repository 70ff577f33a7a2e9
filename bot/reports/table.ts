// A report table: a file name, column keys (titles come from the catalogue, report.col.*) and rows of
// plain cells. Cells that depend on the reader's language (categories) are message keys marked with
// `@`, translated when the table is written, so one table serves the zh-CN and en renderings.
import type { Locale } from '../core/messages.ts';
import { t } from './messages.ts';

export interface ReportTable { file: string; columns: readonly string[]; rows: string[][] }

/** A cell translated when written: `@report.cat.viewed` → 查看 / viewed. */
export function msgCell(key: string): string {
  return `@${key}`;
}

export function cellText(cell: string, locale: Locale): string {
  return cell.startsWith('@report.') ? t(cell.slice(1), locale) : cell;
}

export function isoTime(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}
