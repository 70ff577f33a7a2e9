// Generates one report: check the input (nothing is read or written for bad input), read, render every
// file in memory, record `report.generate` (record, then show: no audit event, no files), note the
// watermark so `custos export trace` can name the report, then write the files into a fresh directory
// that appears whole (written under a temporary name and renamed) or not at all.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuditEventInput, AuditRecorder } from '../core/audit.ts';
import { newEventId } from '../core/audit-event.ts';
import type { AuditCheckpoint } from '../core/audit-event.ts';
import type { VerifyResult } from '../core/audit-verify.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import { LOCALES, type Locale } from '../core/messages.ts';
import type { Clock } from '../core/ports.ts';
import { recordThenShow } from '../core/record.ts';
import { newTagId } from '../core/export-watermark.ts';
import { customerIdArg, customerReport } from './customer.ts';
import { disclosuresReport } from './disclosures.ts';
import { buildPack } from './pack.ts';
import { parsePeriod, periodLabel, type ReportPeriod } from './period.ts';
import { csvText, digest, packHtml, summaryTable, type ReportStamp } from './render.ts';
import type { ReportSource } from './source.ts';

export type ReportKind = ReportStamp['kind'];

export interface ReportRequest { kind: ReportKind; customerId?: string; from?: string; to?: string; out?: string }

export interface ReportDeps {
  source: ReportSource;
  recorder: AuditRecorder;
  clock: Clock;
  /** The watermark key (watermarkKey(audit HMAC key)), as exports use. */
  key: Buffer;
  /** Who the report is for: an employee id (`--for`), else `cli`. Recorded as the event's actor. */
  recipient: string;
  locale: Locale;
  verify: () => Promise<VerifyResult>;
  checkpoints: () => Promise<AuditCheckpoint[]>;
  /** Keeps the watermark's tag so `custos export trace` finds the report (bot/store/export-store.ts). */
  register?: (stamp: ReportStamp) => Promise<void>;
  newReportId?: (now: Date) => string;
  newTagId?: () => string;
}

export interface ReportFile { file: string; rows?: number; bytes: number; sha256: string }
export interface ReportResult { reportId: string; dir: string; files: ReportFile[]; rows: number; period: ReportPeriod }

/** One report file rendered in memory: its name, text and data rows (none for the HTML pages). */
export interface RenderedFile { file: string; text: string; rows?: number; columns?: readonly string[] }
type Rendered = RenderedFile;

/** What rendering reads: the audit log, and for a pack the chain's verification and its checkpoints. */
export type RenderDeps = Pick<ReportDeps, 'source' | 'locale' | 'verify' | 'checkpoints'>;

export function defaultReportId(now: Date): string {
  return `R${now.toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`;
}

function invalid(message: string, field: string): CustosError {
  return new CustosError(ErrorCode.ReportInvalid, message, { field });
}

/** Every file of a report, as `custos report` writes it and as a report asked in chat delivers it. */
export async function renderReportFiles(req: ReportRequest & { customerId?: string }, period: ReportPeriod, stamp: ReportStamp, deps: RenderDeps): Promise<RenderedFile[]> {
  const csv = (table: Parameters<typeof csvText>[0]) => ({ file: table.file, text: csvText(table, stamp, deps.locale), rows: table.rows.length, columns: table.columns });
  if (req.kind === 'customer') return [csv(await customerReport(deps.source, req.customerId!, period))];
  if (req.kind === 'disclosures') return [csv(await disclosuresReport(deps.source, period))];
  const pack = await buildPack(deps.source, { period, verify: await deps.verify(), checkpoints: await deps.checkpoints() });
  const csvs = [csv(summaryTable(pack.summary, deps.locale)), ...pack.tables.map(csv)];
  const listed = csvs.map((c) => ({ file: c.file, ...digest(c.text) }));
  const htmls = LOCALES.map((locale) => ({ file: `summary.${locale}.html`, text: packHtml(pack, stamp, locale, listed) }));
  const all = [...csvs, ...htmls];
  const manifest = { file: 'manifest.csv', columns: ['file', 'bytes', 'sha256'], rows: all.map((f) => { const d = digest(f.text); return [f.file, String(d.bytes), d.sha256]; }) };
  return [...all, csv(manifest)];
}

function reportEvent(stamp: ReportStamp, req: ReportRequest, period: ReportPeriod, files: Rendered[]): AuditEventInput {
  const at = stamp.generatedAt;
  return {
    v: 1, eventId: newEventId(at), occurredAt: at.toISOString(),
    actor: { employeeId: stamp.recipient === 'cli' ? null : stamp.recipient, platform: 'cli' }, channelKind: 'none', action: 'report.generate',
    customerIds: req.customerId ? [req.customerId] : [], fields: [], decision: 'allowed', ruleIds: [], exportId: stamp.reportId,
    meta: { report: stamp.kind, from: period.from.toISOString(), to: period.end.toISOString(), files: files.length, rows: files.reduce((s, f) => s + (f.rows ?? 0), 0) },
  };
}

async function writeAll(dir: string, files: Rendered[]): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(dir), `.${path.basename(dir)}.partial-`));
  try {
    for (const f of files) await writeFile(path.join(tmp, f.file), f.text, { encoding: 'utf8', flag: 'wx' });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

export async function generateReport(request: ReportRequest, deps: ReportDeps): Promise<ReportResult> {
  const req = { ...request, ...(request.kind === 'customer' ? { customerId: customerIdArg(request.customerId ?? '') } : {}) };
  const period = parsePeriod(req.from, req.to);
  const now = deps.clock.now();
  const reportId = (deps.newReportId ?? defaultReportId)(now);
  const dir = path.resolve(req.out ?? `custos-report-${reportId}`);
  if (existsSync(dir)) throw invalid(`--out ${req.out ?? dir} already exists: give a new directory (a report never overwrites files)`, '--out');
  const stamp: ReportStamp = { reportId, kind: req.kind, period: periodLabel(period), recipient: deps.recipient, generatedAt: now, tagId: (deps.newTagId ?? newTagId)(), key: deps.key };
  const files = await renderReportFiles(req, period, stamp, deps);
  await recordThenShow(deps.recorder, reportEvent(stamp, req, period, files), () => undefined);
  await deps.register?.(stamp);
  await writeAll(dir, files);
  return {
    reportId, dir, period, rows: files.reduce((s, f) => s + (f.rows ?? 0), 0),
    files: files.map((f) => ({ file: f.file, ...(f.rows === undefined ? {} : { rows: f.rows }), ...digest(f.text) })),
  };
}
