// One export job (ids only in the payload): check the request is an approved export (of customers, or
// of an audit query's result) whose grant (customers) or approval window (audit: no customer grant) is still open, claim the export id, audit the start, write the watermarked CSV to a temporary file
// with progress updates, upload it to the requester's DM, audit completion and delivery.
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditAction, AuditEventInput, AuditRecorder } from '../../bot/core/audit.ts';
import { newEventId } from '../../bot/core/audit-event.ts';
import type { AccessRequest, RequestStore } from '../../bot/core/approvals/types.ts';
import { auditFieldOutcomes, requestAuditFields } from '../../bot/core/approvals/export-fields.ts';
import { decodePageToken, type AuditFilter, type AuditLogReader } from '../../bot/core/audit-query-service.ts';
import { principalOf } from '../../bot/core/identity.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { newTagId } from '../../bot/core/export-watermark.ts';
import { t } from '../../bot/core/messages.ts';
import type { Clock } from '../../bot/core/ports.ts';
import { recordThenShow } from '../../bot/core/record.ts';
import type { CustomerStore } from '../../bot/store/customer-store.ts';
import type { EmployeeStore } from '../../bot/store/employee-store.ts';
import type { ExportRecord, ExportStore } from '../../bot/store/export-store.ts';
import { isGrantActive, type Grant, type GrantStore } from '../../policies/grants.ts';
import type { PolicyEngineImpl } from '../../policies/index.ts';
import { runAuditExport } from './audit-run.ts';
import { runReportExport, type ReportChain } from './report-run.ts';
import { parseReportSpec } from '../../bot/core/audit-report-command.ts';
import type { ReportSource } from '../../bot/reports/source.ts';
import { makeCanary } from './canary.ts';
import { runExport, type ExportResult } from './run.ts';

/** Where the file and its progress go (Slack: a DM message updated in place, files.uploadV2). */
/** The requester's chat, as a platform module delivers into it (bot/runtime/platform-module.ts). */
export type { ExportDelivery } from '../../bot/runtime/platform-module.ts';
import type { ExportDelivery } from '../../bot/runtime/platform-module.ts';

export interface ExportJobDeps {
  engine: PolicyEngineImpl;
  customers: CustomerStore;
  directory: EmployeeStore;
  grants: GrantStore;
  requests: RequestStore;
  exports: ExportStore;
  recorder: AuditRecorder;
  clock: Clock;
  key: Buffer;
  maxRows: number;
  delivery: ExportDelivery;
  /** The audit log, for `audit-export` requests; without it they are refused. */
  auditLog?: AuditLogReader;
  /** What reports read, for a report asked in chat (an `audit-export` whose query is a report spec). */
  reports?: ReportSource;
  /** The chain's verification and checkpoints, for a compliance pack asked in chat; without it a pack is refused. */
  reportChain?: ReportChain;
  progressEvery?: number;
}

export class ExportRefused extends Error {
  constructor(readonly reason: string) { super(`export refused: ${reason}`); }
}

// An audit export's columns are the audit table's (ids and codes), not customer fields: no `delivered`.
type WrittenFile = Pick<ExportResult, 'rows' | 'capped' | 'bytes'> & Partial<Pick<ExportResult, 'delivered'>> & { columns: string[] };

export async function performExport(deps: ExportJobDeps, job: { requestId: string; exportId: string }): Promise<WrittenFile | null> {
  const request = await deps.requests.get(job.requestId);
  const exportable = request?.kind === 'export' || request?.kind === 'audit-export';
  if (!request || !exportable || request.status !== 'approved') throw new ExportRefused('not_an_approved_export');
  const now = deps.clock.now();
  const grant = await exportGrant(deps, request, now);
  const requester = await deps.directory.byId(request.requesterId);
  if (!requester || requester.status !== 'active') throw new ExportRefused('requester_inactive');
  const auditFilter = request.kind === 'audit-export' ? await auditExportFilter(deps, request, requester, now) : null;
  const report = auditFilter === 'report' ? parseReportSpec(request.auditQuery ?? '') : null;

  // An audit export has no canary row (see audit-run.ts): its record's canary id stays empty.
  const canary = auditFilter ? null
    : await makeCanary(deps.key, job.exportId, request.segment?.conditions ?? {}, async (id) => (await deps.customers.get(id)) !== null, await deps.customers.count({}));
  const record: ExportRecord = {
    exportId: job.exportId, requestId: request.requestId, ...(grant ? { grantId: grant.grantId } : {}), employeeId: requester.employeeId,
    tagId: newTagId(), canaryId: canary?.customerId ?? '', status: 'running', createdAt: now,
  };
  if (!(await deps.exports.claim(record))) {
    const earlier = await deps.exports.byId(job.exportId);
    if (earlier?.status === 'completed') return null; // a retried job: the file was delivered already
    Object.assign(record, { tagId: earlier?.tagId ?? record.tagId, canaryId: earlier?.canaryId ?? record.canaryId });
    if (canary) canary.customerId = record.canaryId;
  }
  // Before the file exists the events list the outcomes the approver saw; once written, the outcomes
  // the file actually holds (per column, every outcome its cells got).
  const event = (action: AuditAction, meta: Record<string, number | boolean | string> = {}, written?: WrittenFile): AuditEventInput => {
    const at = deps.clock.now();
    return {
      v: 1, eventId: newEventId(at), occurredAt: at.toISOString(),
      actor: { employeeId: requester.employeeId, platform: 'system' }, channelKind: 'dm', action,
      customerIds: request.segment?.customerIds ?? [], fields: written?.delivered ? auditFieldOutcomes(written.delivered) : requestAuditFields(request),
      decision: 'allowed', ruleIds: grant ? [`grant:${grant.grantId}`] : request.ruleIds.slice(0, 200), requestId: request.requestId,
      ...(grant ? { grantId: grant.grantId } : {}), exportId: job.exportId,
      purpose: request.purpose, meta,
    };
  };
  const file = join(tmpdir(), `custos-${job.exportId}-${process.pid}.csv`);
  try {
    await recordThenShow(deps.recorder, event('export.start', { maxRows: deps.maxRows, ...(report ? { report: report.kind } : {}) }), () => undefined);
    const handle = await deps.delivery.start(requester, t('export.progress', requester.locale, { id: job.exportId, rows: 0 }));
    const onProgress = (rows: number) => deps.delivery.progress(handle, t('export.progress', requester.locale, { id: job.exportId, rows }));
    const result: WrittenFile = report
      ? await runReportExport(deps.reports!, { exportId: job.exportId, ask: report, requester, at: now, key: deps.key, tagId: record.tagId }, file, deps.reportChain)
      : auditFilter && auditFilter !== 'report'
      ? await runAuditExport(deps.auditLog!, { exportId: job.exportId, filter: auditFilter, requester, at: now, maxRows: deps.maxRows, key: deps.key, tagId: record.tagId, onProgress }, file)
      : await runExport(deps.engine, deps.customers, {
        exportId: job.exportId, request, grant: grant!, requester, at: now, maxRows: deps.maxRows, key: deps.key, tagId: record.tagId, canary: canary!,
        progressEvery: deps.progressEvery ?? 5000, onProgress,
      }, file);
    await recordThenShow(deps.recorder, event('export.complete', { rows: result.rows, capped: result.capped, columns: result.columns.length }, result), () => undefined);
    const name = report ? `custos-report-${report.kind}` : auditFilter ? 'custos-audit-export' : 'custos-export';
    const fileId = await deps.delivery.upload(requester, file, `${name}-${job.exportId}.${report?.kind === 'pack' ? 'zip' : 'csv'}`, `${name.replace(/-/g, ' ')} ${job.exportId}`);
    // Delivery into the requester's DM (Slack reports no per-user download; the file id stays in the
    // export record: its digits would trip the audit log's PII guard).
    await deps.recorder.record(event('export.download', { delivered: true, bytes: result.bytes }, result)).catch(() => undefined);
    await deps.exports.update(job.exportId, { status: 'completed', completedAt: deps.clock.now(), rows: result.rows, capped: result.capped, columns: result.columns, ...(fileId ? { fileId } : {}) });
    const capped = result.capped ? t('export.capped', requester.locale, { max: deps.maxRows }) : '';
    await deps.delivery.progress(handle, t('export.done', requester.locale, { id: job.exportId, rows: result.rows, capped }));
    return result;
  } catch (err) {
    await deps.exports.update(job.exportId, { status: 'failed' }).catch(() => undefined);
    throw err;
  } finally {
    await unlink(file).catch(() => undefined);
  }
}

/**
 * A customer export runs under its active grant. An audit export has none (a grant widens customer
 * fields; audit rows are ids and codes): it may run within its approved duration from the decision.
 */
async function exportGrant(deps: ExportJobDeps, request: AccessRequest, now: Date): Promise<Grant | null> {
  if (request.kind === 'audit-export') {
    const until = (request.decidedAt?.getTime() ?? 0) + request.durationMinutes * 60_000;
    if (now.getTime() >= until) throw new ExportRefused('export_window_over');
    return null;
  }
  const grant = request.grantId ? await deps.grants.byId(request.grantId) : null;
  if (!grant || !isGrantActive(grant, now)) throw new ExportRefused('grant_inactive');
  return grant;
}

/**
 * An audit export's filter, once the requester is re-authorised for audit queries now (a role change
 * since the approval ends it) and the log can be read; a stored query we cannot read is refused.
 */
async function auditExportFilter(deps: ExportJobDeps, request: AccessRequest, requester: Employee, now: Date): Promise<AuditFilter | 'report'> {
  if (!deps.auditLog) throw new ExportRefused('audit_log_unavailable');
  const decision = await deps.engine.decide(principalOf(requester), 'audit.query', { channel: 'dm', at: now, purpose: request.purpose });
  if (!decision.allowed) throw new ExportRefused('audit_query_denied');
  // A report asked in chat: the same re-authorisation, then the report module (report-run.ts) reads.
  const spec = parseReportSpec(request.auditQuery ?? '');
  if (spec) {
    if (!deps.reports || (spec.kind === 'pack' && !deps.reportChain)) throw new ExportRefused('reports_unavailable');
    return 'report';
  }
  try {
    return decodePageToken(request.auditQuery ?? '').filter;
  } catch {
    throw new ExportRefused('audit_query_invalid');
  }
}
