// The shape every audit-export CSV has, whichever platform delivered it: UTF-8 with BOM, a visible header
// naming the export and the recipient, the audit table's columns, the rows, and a visible footer that
// counts them. Asserts that shape and returns the rows' cells.
import type { ExecutionContext } from 'ava';

const COLUMNS = ['序号', '时间', '操作人', '动作', '结果', '场景', '客户'];

export function auditExportRows(t: ExecutionContext, bytes: Buffer, exportId: string, recipientId: string): string[][] {
  t.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with BOM');
  const lines = bytes.toString('utf8').slice(1).split('\r\n').filter(Boolean);
  t.true(lines[0]!.includes(exportId) && lines[0]!.includes(recipientId), 'visible header names export and employee');
  t.deepEqual(lines[1]!.split(','), COLUMNS, 'the table\'s columns');
  const rows = lines.slice(2, -1).map((l) => l.split(','));
  t.regex(lines.at(-1)!, new RegExp(`end of audit export ${exportId} · ${rows.length} rows · ${recipientId}`), 'visible footer');
  return rows;
}
