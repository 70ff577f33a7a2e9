// Reports for the DPO (issue 20, item 3) on a seeded, deterministic history (test/helpers/report-history.ts):
// golden files for all three reports; the customer report against an independent query of the log;
// the pack's HTML summary opened in Chromium (screenshot kept in .test-artifacts/); bad input through
// `custos report` (its `main`): a clear message, a non-zero exit, nothing written; and a report file,
// written by the real `custos report pack` process, traced back to its report by `custos export trace`.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { chromium } from 'playwright-core';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { parseAuditEvent } from '../bot/core/audit-event.ts';
import { watermarkKey } from '../bot/core/export-watermark.ts';
import { generateReport, type ReportDeps, type ReportRequest } from '../bot/reports/generate.ts';
import { ReportSource } from '../bot/reports/source.ts';
import { AUDIT_EVENTS_COLLECTION, type AuditModels } from '../bot/store/audit-model.ts';
import { verifyStoredChain } from '../bot/store/audit-chain-check.ts';
import { allCheckpoints } from '../bot/store/audit-store.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { parseCsvLine, stripMarker } from './helpers/export-csv.ts';
import { CUSTOMER, HISTORY_EVENTS, HMAC_KEY, SIGNING_KEY, seedReportHistory } from './helpers/report-history.ts';
import { runCli, runCliHere } from './helpers/run-custos.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const GOLDEN = path.resolve('test/fixtures/reports');
const ARTIFACTS = path.resolve('.test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const NOW = new Date('2026-12-03T08:00:00Z');
const PERIOD = { from: '2026-11-01', to: '2026-11-30' };
const DPO = demoEmployee('dpo').employeeId;

let db: Awaited<ReturnType<typeof testDatabase>>;
let models: AuditModels;
const prefix = uniqueName(import.meta.url, 'prefix');
const work = mkdtempSync(path.join(os.tmpdir(), 'custos-reports-'));

test.before(async () => {
  db = await testDatabase(import.meta.url);
  models = await seedReportHistory(db.conn);
});
test.after.always(async () => {
  await db?.drop();
  await dropPrefix(prefix);
  rmSync(work, { recursive: true, force: true });
});

function deps(recorded: AuditEventInput[]): ReportDeps {
  return {
    source: new ReportSource(db.conn),
    // The queue's producer validates every event the same way (parseAuditEvent): so does this recorder.
    recorder: { record: async (e) => { recorded.push(parseAuditEvent(e)); } },
    clock: { now: () => NOW }, key: watermarkKey(HMAC_KEY), recipient: DPO, locale: 'en',
    verify: () => verifyStoredChain(models, SIGNING_KEY), checkpoints: () => allCheckpoints(models),
    newReportId: () => 'R20261203-0000abcd', newTagId: () => '00112233aabb',
  };
}

async function generate(req: Omit<ReportRequest, 'out'>, name: string) {
  const recorded: AuditEventInput[] = [];
  const out = path.join(work, name);
  const result = await generateReport({ ...req, ...PERIOD, out }, deps(recorded));
  return { result, recorded, out };
}

/** Compares every file in `dir` with test/fixtures/reports/NAME (UPDATE_GOLDEN=1 rewrites them). */
function matchGolden(t: ExecutionContext, dir: string, name: string): void {
  const golden = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(golden, { recursive: true, force: true });
    mkdirSync(golden, { recursive: true });
    for (const f of readdirSync(dir)) writeFileSync(path.join(golden, f), readFileSync(path.join(dir, f)));
  }
  t.deepEqual(readdirSync(dir).sort(), readdirSync(golden).sort(), `the files of ${name}`);
  for (const f of readdirSync(golden)) t.is(readFileSync(path.join(dir, f), 'utf8'), readFileSync(path.join(golden, f), 'utf8'), `${name}/${f} matches its golden file`);
}

/** The data rows of a report CSV (header, title and footer lines dropped), markers removed. */
function rows(file: string): string[][] {
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split('\r\n').filter((l) => l !== '' && !l.startsWith('# '));
  return lines.slice(1).map((l) => parseCsvLine(l).map(stripMarker));
}

test('customer report: golden file, recorded as report.generate with ids only', async (t) => {
  const { result, recorded, out } = await generate({ kind: 'customer', customerId: 'c-000101' }, 'customer');
  matchGolden(t, out, 'customer');
  t.is(result.files[0]!.file, `customer-${CUSTOMER}.csv`);
  t.is(recorded.length, 1);
  t.like(recorded[0], { action: 'report.generate', customerIds: [CUSTOMER], exportId: 'R20261203-0000abcd', actor: { employeeId: DPO, platform: 'cli' }, meta: { report: 'customer', rows: result.rows } });
});

test('customer report equals an independent query of the audit log', async (t) => {
  const { out } = await generate({ kind: 'customer', customerId: CUSTOMER }, 'customer-check');
  const docs = await db.conn.collection(AUDIT_EVENTS_COLLECTION)
    .find({ customerIds: CUSTOMER, occurredAt: { $gte: new Date('2026-11-01T00:00:00Z'), $lt: new Date('2026-12-01T00:00:00Z') } }).sort({ seq: 1 }).toArray();
  const got = rows(path.join(out, `customer-${CUSTOMER}.csv`));
  t.true(docs.length >= 8, 'the history names the customer often in November');
  t.deepEqual(got.map((r) => [Number(r[1]), r[3], r[4], r[5]]), docs.map((d) => [d.seq, d.action, d.decision, (d.actor as { employeeId: string | null }).employeeId ?? '']));
  // The lookup under a grant carries no purpose itself: the report takes the grant's, and its approver.
  const underGrant = got.find((r) => r[3] === 'lookup' && r[14] === 'G-0001')!;
  t.is(underGrant[12], 'ticket follow-up');
  t.is(underGrant[13], demoEmployee('salesHead').employeeId);
});

test('disclosures report: golden file; cross-department grants and every export, with approvers', async (t) => {
  const { out } = await generate({ kind: 'disclosures' }, 'disclosures');
  matchGolden(t, out, 'disclosures');
  const got = rows(path.join(out, 'disclosures.csv'));
  // G-0001 (support sees sales-owned contact data) and export X-0001; not G-0002 (the export's own
  // grant, listed as the export) nor G-0003 (sales seeing sales data).
  t.deepEqual(got.map((r) => [r[2], r[3]]), [['grant', 'G-0001'], ['export', 'X-0001']]);
  t.is(got[1]![13], `${demoEmployee('marketingHead').employeeId} ${demoEmployee('salesHead').employeeId}`);
});

test('pack: golden files; its HTML opens in Chromium and shows the summary', async (t) => {
  const { result, recorded, out } = await generate({ kind: 'pack' }, 'pack');
  matchGolden(t, out, 'pack');
  t.like(recorded[0], { action: 'report.generate', customerIds: [], meta: { report: 'pack' } });
  t.deepEqual(result.files.map((f) => f.file), ['summary.csv', 'checkpoints.csv', 'policies.csv', 'access-reviews.csv', 'freezes.csv', 'erasures.csv',
    'refusals.csv', 'disclosures.csv', 'summary.zh-CN.html', 'summary.en.html', 'manifest.csv']);
  t.true(existsSync(CHROMIUM), 'chromium is installed');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'custos-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  try {
    mkdirSync(ARTIFACTS, { recursive: true });
    const page = await browser.newPage();
    await page.goto(`file://${path.join(out, 'summary.en.html')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-pack-en.png'), fullPage: true });
    const summary = await page.locator('#summary').innerText();
    t.regex(summary, new RegExp(`Audit chain\\s+intact: ${HISTORY_EVENTS} records`));
    t.regex(summary, /Policy version in force at the end\s+7c2e4a6b8d0f1e3a/);
    t.regex(summary, /Access reviews: kept \/ revoked\s+1 \/ 1/);
    t.regex(summary, /Freezes \/ unfreezes\s+1 \/ 1/);
    t.regex(summary, /Refusal rate \(refused \/ all decisions\)\s+11\.1% \(2 \/ 18\)/);
    t.regex(await page.locator('header').innerText(), /Report R20261203-0000abcd/);
    await page.goto(`file://${path.join(out, 'summary.zh-CN.html')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-pack-zh-CN.png'), fullPage: true });
    t.regex(await page.locator('h1').innerText(), /合规材料包/);
    t.regex(await page.locator('#summary').innerText(), /审计链\s+完整：/);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

const env = () => testEnv(db.name, prefix, { CUSTOS_AUDIT_HMAC_KEY: HMAC_KEY.toString('base64'), CUSTOS_AUDIT_SIGNING_KEY: SIGNING_KEY.toString('base64') });

// Through `main` in this process (runCliHere: the same parsing, code, output and exit code as the binary,
// which the last test runs as real processes): eight process starts spared. Serial: it swaps the output.
test.serial('bad input: a clear message, a non-zero exit and nothing written', async (t) => {
  const cases: [string[], RegExp][] = [
    [['customer', 'C-999999', '--from', '2026-11-01', '--to', '2026-11-30'], /there is no customer C-999999/],
    [['customer', 'alice', '--from', '2026-11-01', '--to', '2026-11-30'], /"alice" is not a customer id/],
    [['pack', '--from', '2026-12-01', '--to', '2026-11-01'], /--from 2026-12-01 is after --to 2026-11-01/],
    [['pack', '--from', '2026-02-30', '--to', '2026-03-01'], /--from "2026-02-30" is not a date/],
    [['disclosures', '--from', 'yesterday', '--to', '2026-11-30'], /--from "yesterday" is not a date/],
    [['disclosures', '--from', '2026-11-01', '--to', '2026-11-30', '--for', 'E-9999'], /--for E-9999: no such employee/],
    [['disclosures', '--from', '2026-11-01'], /required option '--to <date>'/],
  ];
  const before = await db.conn.collection(AUDIT_EVENTS_COLLECTION).countDocuments();
  const taken = path.join(work, 'taken');
  mkdirSync(taken);
  const r = await runCliHere(['report', 'pack', ...['--from', '2026-11-01', '--to', '2026-11-30'], '--out', taken], env());
  for (const [i, [args, message]] of cases.entries()) {
    const out = path.join(work, `bad-${i}`);
    const res = await runCliHere(['report', ...args, '--out', out], env());
    t.not(res.code, 0, args.join(' '));
    t.regex(res.stderr, message, args.join(' '));
    t.false(existsSync(out), `nothing written for ${args.join(' ')}`);
  }
  t.not(r.code, 0);
  t.regex(r.stderr, /already exists: give a new directory/);
  t.deepEqual(readdirSync(taken), []);
  t.is(await db.conn.collection(AUDIT_EVENTS_COLLECTION).countDocuments(), before);
});

test('custos report pack as a command; export trace names the report a file came from', async (t) => {
  const out = path.join(work, 'cli-pack');
  const r = await runCli(['report', 'pack', '--from', '2026-11-01', '--to', '2026-11-30', '--for', DPO, '--lang', 'en', '--out', out], env());
  t.is(r.code, 0, r.stderr);
  const id = /report (R\d{8}-[0-9a-f]{8}) \(pack\) written to/.exec(r.stdout)?.[1];
  t.truthy(id, r.stdout);
  t.true(existsSync(path.join(out, 'summary.en.html')));
  t.false(readdirSync(work).some((f) => f.includes('.partial-')), 'no partial directory left behind');
  // A leaked copy, re-sorted and without header and footer, still names the report and its recipient.
  const lines = readFileSync(path.join(out, 'disclosures.csv'), 'utf8').split('\r\n').filter((l) => l !== '' && !l.includes('# ')).slice(1).reverse();
  const leaked = path.join(work, 'leaked.csv');
  writeFileSync(leaked, lines.join('\n'));
  const traced = await runCli(['export', 'trace', leaked], env());
  t.is(traced.code, 0, traced.stderr);
  t.regex(traced.stdout, new RegExp(`export ${id}: employee ${DPO} \\(${demoEmployee('dpo').name}\\), request report-pack`));
});
