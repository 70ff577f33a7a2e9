// Streams the rows of an import file, each with its line number, without holding the file in memory.
// CSV: csv-parse with a header row (UTF-8, an Excel BOM is fine). JSON Lines: one object per line.
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { CustosError, ErrorCode } from '../core/errors.ts';

export const IMPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** A row as read: its line number (where the record ends, 1-based, the header is line 1) and its fields, or why it could not be read. */
export type SourceRow =
  | { line: number; fields: Record<string, unknown> }
  | { line: number; unreadable: string };

export function formatFromPath(file: string, explicit?: string): ImportFormat {
  if (explicit !== undefined) {
    if ((IMPORT_FORMATS as readonly string[]).includes(explicit)) return explicit as ImportFormat;
    throw new CustosError(ErrorCode.ImportFileUnreadable, `unknown --format "${explicit}"; use csv or jsonl`, { file });
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new CustosError(ErrorCode.ImportFileUnreadable,
    `cannot tell the format of ${file} from its extension; name it .csv, .jsonl or .ndjson, or pass --format csv|jsonl`, { file });
}

export async function assertReadable(file: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'EACCES';
    throw new CustosError(ErrorCode.ImportFileUnreadable, `cannot read ${file} (${code})`, { file, code });
  }
}

export function readRows(file: string, format: ImportFormat, columns: readonly string[]): AsyncIterable<SourceRow> {
  return format === 'csv' ? readCsv(file, columns) : readJsonLines(file);
}

async function* readCsv(file: string, known: readonly string[]): AsyncIterable<SourceRow> {
  let header: string[] = [];
  const parser = createReadStream(file).pipe(parse({
    bom: true,
    columns: (names: string[]) => {
      header = names.map((n) => n.trim());
      checkHeader(file, header, known);
      return header;
    },
    skip_empty_lines: true,
    relax_column_count: true, // a short or long row is that row's error, not the end of the import
    info: true,
  }));
  let badLengths = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number; invalid_field_length: number } }>) {
      if (info.invalid_field_length > badLengths) {
        badLengths = info.invalid_field_length;
        yield { line: info.lines, unreadable: `has a different number of columns than the header (${header.length})` };
        continue;
      }
      yield { line: info.lines, fields: record };
    }
  } catch (err) {
    if (err instanceof CustosError) throw err;
    const line = (err as { lines?: number }).lines;
    throw new CustosError(ErrorCode.ImportFileUnreadable,
      `${file} is not valid CSV${line ? ` near line ${line}` : ''}: ${(err as { code?: string }).code ?? 'parse error'}`, { file, line });
  }
}

function checkHeader(file: string, header: string[], known: readonly string[]): void {
  const unknown = header.filter((h) => !known.includes(h));
  const dup = header.filter((h, i) => header.indexOf(h) !== i);
  const problems: string[] = [];
  // `chat.<id>` names a chat platform: say which ones are registered, not only that the column is unknown.
  const chat = known.filter((k) => k.startsWith('chat.')).map((k) => k.slice('chat.'.length));
  const [platforms, others] = [unknown.filter((h) => chat.length > 0 && h.startsWith('chat.')), unknown.filter((h) => chat.length === 0 || !h.startsWith('chat.'))];
  if (others.length) problems.push(`unknown column(s) ${others.join(', ')}`);
  if (platforms.length) problems.push(`column(s) ${platforms.join(', ')} for no registered chat platform (registered platforms: ${chat.join(', ')})`);
  if (dup.length) problems.push(`repeated column(s) ${[...new Set(dup)].join(', ')}`);
  if (problems.length) {
    throw new CustosError(ErrorCode.ImportInvalid,
      `${file}: the header row has ${problems.join(' and ')}; the columns are: ${known.join(', ')}`, { file, line: 1 });
  }
}

async function* readJsonLines(file: string): AsyncIterable<SourceRow> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const rawLine of lines) {
    n++;
    const text = n === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line: n, unreadable: 'is not valid JSON' };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { line: n, unreadable: 'must be one JSON object' };
      continue;
    }
    yield { line: n, fields: value as Record<string, unknown> };
  }
}
