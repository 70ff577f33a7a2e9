// `audit report …` parsing (issue 20): what chat accepts, the spec stored on the request, and that a spec
// read back is the same ask (the worker and the DPO's card read the stored spec, never the typed text).
import test from 'ava';
import fc from 'fast-check';
import { isAuditReportCommand, parseAuditReport, parseReportSpec, reportSpec } from '../bot/core/audit-report-command.ts';

test('the three report shapes parse; anything else is not a report ask or has no parse', (t) => {
  t.deepEqual(parseAuditReport('report customer c-000123 from 2026-06-01 to 2026-06-30'), { kind: 'customer', customerId: 'C-000123', from: '2026-06-01', to: '2026-06-30' });
  t.deepEqual(parseAuditReport('  REPORT   disclosures from 2026-11-01 to 2026-11-30 '), { kind: 'disclosures', from: '2026-11-01', to: '2026-11-30' });
  t.deepEqual(parseAuditReport('report Pack from 2026-01-01 to 2026-12-31'), { kind: 'pack', from: '2026-01-01', to: '2026-12-31' });
  t.true(isAuditReportCommand('report'));
  t.false(isAuditReportCommand('reports by E-0012'));
  for (const bad of ['report', 'report customer C-000123', 'report pack C-000123 from 2026-01-01 to 2026-12-31', 'report pack from 2026-12-31 to 2026-01-01', 'report disclosures from 2026-02-30 to 2026-03-01',
    'report disclosures from 2026-07-01 to 2026-06-01', 'report customer C-12 from 2026-06-01 to 2026-06-30', 'report disclosures from 2026-06-01 to 2026-06-30 purpose: x']) {
    t.is(parseAuditReport(bad), null, bad);
  }
});

test('a stored spec reads back as the same ask; a filter token or a tampered spec is not a report', (t) => {
  const day = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  fc.assert(fc.property(day, day, fc.option(fc.integer({ min: 0, max: 999_999 }), { nil: undefined }), fc.boolean(), (a, b, n, pack) => {
    const [from, to] = a <= b ? [a, b] : [b, a];
    const ask = n === undefined ? { kind: pack ? 'pack' as const : 'disclosures' as const, from, to } : { kind: 'customer' as const, customerId: `C-${String(n).padStart(6, '0')}`, from, to };
    const typed = ask.kind === 'customer' ? `report customer ${ask.customerId} from ${from} to ${to}` : `report ${ask.kind} from ${from} to ${to}`;
    const parsed = parseAuditReport(typed);
    return parsed !== null && JSON.stringify(parseReportSpec(reportSpec(parsed))) === JSON.stringify(ask);
  }));
  t.is(parseReportSpec('eyJmaWx0ZXIiOnt9fQ'), null);
  t.is(parseReportSpec('report customer - 2026-06-01 2026-06-30'), null);
  t.is(parseReportSpec('report disclosures C-000123 2026-06-01 2026-06-30'), null);
  t.is(parseReportSpec('report pack C-000123 2026-06-01 2026-06-30'), null);
  t.is(parseReportSpec('report disclosures - 2026-06-30 2026-06-01'), null);
});
