// Reports asked in chat (issue 20): `audit report customer C-000123 from 2026-06-01 to 2026-06-30`,
// `audit report disclosures from 2026-06-01 to 2026-06-30` or `audit report pack from … to …` (the
// compliance pack, delivered as one ZIP of its files), for holders of `audit.query`. Parsed here,
// once, for every adapter. The ask travels as an `audit-export` request whose query is the spec below
// (ids and dates only), so the DPO decides it like any audit export (settings.auditExport).
import { parsePeriod } from '../reports/period.ts';
import type { RequestTarget } from './approvals/types.ts';
import { isCustosError } from './errors.ts';

export interface AuditReportAsk { kind: 'customer' | 'disclosures' | 'pack'; customerId?: string; from: string; to: string }

const DATE = String.raw`(\d{4}-\d{2}-\d{2})`;
const COMMAND = new RegExp(String.raw`^report\s+(?:customer\s+(c-\d{6})|(disclosures|pack))\s+from\s+${DATE}\s+to\s+${DATE}$`, 'i');
const SPEC = new RegExp(String.raw`^report (customer|disclosures|pack) (C-\d{6}|-) ${DATE} ${DATE}$`);

/** The text after `audit` starts with `report`: a report ask (well formed or not), not an audit query. */
export function isAuditReportCommand(auditText: string): boolean {
  return /^\s*report(\s|$)/i.test(auditText);
}

/** Days that exist and a non-empty period (the CLI's own check); null otherwise. */
function checked(ask: AuditReportAsk): AuditReportAsk | null {
  try {
    parsePeriod(ask.from, ask.to);
    return ask;
  } catch (err) {
    if (isCustosError(err)) return null;
    throw err;
  }
}

/** `report customer C-… from D to D` / `report disclosures|pack from D to D` (after `audit`); null if not that shape. */
export function parseAuditReport(auditText: string): AuditReportAsk | null {
  const m = COMMAND.exec(auditText.trim().replace(/\s+/g, ' '));
  if (!m) return null;
  return checked(m[1] ? { kind: 'customer', customerId: m[1].toUpperCase(), from: m[3]!, to: m[4]! } : { kind: m[2]!.toLowerCase() as 'disclosures' | 'pack', from: m[3]!, to: m[4]! });
}

/** The request's stored query for a report: `report customer C-000123 2026-06-01 2026-06-30`. */
export function reportSpec(ask: AuditReportAsk): string {
  return `report ${ask.kind} ${ask.customerId ?? '-'} ${ask.from} ${ask.to}`;
}

/**
 * What every chat adapter asks the approval service for when `audit report …` is typed: an audit export
 * whose query is the spec. Null when the words are not a well-formed ask (answer `approval.report.usage`).
 */
export function reportRequestTarget(auditText: string): Extract<RequestTarget, { kind: 'audit-export' }> | null {
  const ask = parseAuditReport(auditText);
  return ask ? { kind: 'audit-export', query: reportSpec(ask) } : null;
}

/** A stored query that is a report spec, read back (null for an audit filter token or anything else). */
export function parseReportSpec(query: string): AuditReportAsk | null {
  const m = SPEC.exec(query);
  if (!m) return null;
  if ((m[1] === 'customer') !== (m[2] !== '-')) return null;
  return checked(m[1] === 'customer' ? { kind: 'customer', customerId: m[2]!, from: m[3]!, to: m[4]! } : { kind: m[1] as 'disclosures' | 'pack', from: m[3]!, to: m[4]! });
}
