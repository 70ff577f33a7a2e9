// Exports end to end: `/customer export …` in a DM → modal → the manager approves → the export worker
// streams the watermarked CSV and uploads it with files.uploadV2 to the requester's DM. The file holds
// exactly the permitted rows and columns with the policy's masks, starts with a UTF-8 BOM, respects the
// row cap, and `custos export trace` names the export and the employee for the whole file, the file
// without header and footer, and a shuffled 20-row subset.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import type { Customer } from '../bot/core/domain.ts';
import { principalOf } from '../bot/core/identity.ts';
import { applyDecision } from '../bot/core/view.ts';
import { watermarkKey } from '../bot/core/export-watermark.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { parseCsvLine, stripMarker } from './helpers/export-csv.ts';
import { SlackHarness, messageText } from './helpers/slack-bot.ts';
import { buttons, modalAfter, movableClock, openedView, requestValues, submitView } from './helpers/slack-approval.ts';
import { runExport } from '../workers/export/run.ts';
import { custosArgs } from './helpers/run-custos.ts';

const run = promisify(execFile);
const clock = movableClock();
const h = new SlackHarness(import.meta.url, { customers: 200, grants: true, clock });
const all: Customer[] = [];
let csv = '';
let exportId = '';

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) all.push(c);
});
test.after.always(async () => { await h.close(); });

async function trace(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'custos-trace-'));
  const file = join(dir, 'leak.csv');
  await writeFile(file, text, 'utf8');
  const env = { ...process.env, MONGODB_URI: h.config.mongo!.uri, MONGODB_DB: h.config.mongo!.db, CUSTOS_AUDIT_HMAC_KEY: h.config.audit!.hmacKey.toString('base64'), CUSTOS_AUDIT_SIGNING_KEY: h.config.audit!.signingKey.toString('base64') };
  const { stdout } = await run(process.execPath, custosArgs(['export', 'trace', file]), { env });
  return stdout;
}

const strip = stripMarker;
const parseLine = parseCsvLine;

test.serial('an approved export arrives in the DM as a watermarked CSV with exactly the permitted rows, columns and masks', async (t) => {
  const lead = 'salesLeadEast' as const;
  const since = h.fake.calls.length;
  const cmd = await h.command(h.userId(lead), h.dmOf(lead), 'export region:east fields:name,phone,email,stage');
  // The command answers with either the request form or a refusal: wait for whichever comes (no pause).
  const replyPath = new URL(cmd.responseUrl).pathname;
  const answer = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && (x.method === 'views.open' || (x.method === 'response_url' && x.path === replyPath)));
  t.is(answer.method, 'views.open', `no refusal: ${String(answer.body.text ?? '')}`);
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId(lead), modal.callback_id, modal.private_metadata, requestValues('季度客户回访', 120));
  t.is(res.body, '');
  const headCard = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && x.body.channel === h.dmOf('salesHead'));
  t.true(messageText(headCard.body).includes('region:east'), 'the approver sees which customers');
  const requestId = /#(R-[A-P]{10})/.exec(String(headCard.body.text))![1]!;
  t.deepEqual(buttons(headCard.body).map((b) => b.actionId), ['approval_approve', 'approval_deny']);
  await h.click(h.userId('salesHead'), h.dmOf('salesHead'), 'approval_approve', requestId);

  exportId = `X-${requestId.slice(2)}`;
  const done = await h.fake.waitFor((x) => x.method === 'files.completeUploadExternal' && x.ok, 60_000);
  t.is(done.body.channel_id, h.dmOf(lead), 'uploaded into the requester DM');
  const file = [...h.fake.files.values()].find((f) => f.completed)!;
  t.deepEqual([...file.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with BOM');
  csv = file.bytes.toString('utf8');
  const finished = await h.fake.waitFor((x) => x.method === 'chat.update' && x.body.channel === h.dmOf(lead) && String(x.body.text).includes(exportId) && /完成/.test(String(x.body.text)));
  t.regex(String(finished.body.text), /行/, 'the progress message, updated in place, ends with the row count');

  const lines = csv.slice(1).split('\r\n').filter(Boolean);
  t.true(lines[0]!.includes(exportId) && lines[0]!.includes(h.employees[lead].employeeId), 'visible header names export and employee');
  t.true(lines.at(-1)!.includes(exportId), 'visible footer');
  t.deepEqual(parseLine(lines[1]!), ['客户编号', '名称', '电话', '邮箱', '阶段'].slice(0, 1).concat(parseLine(lines[1]!).slice(1)));
  const rows = lines.slice(2, -1).map((l) => parseLine(l));

  // Expected: the lead's export scope (region east) ∩ the segment, masked as the export rule says.
  const engine = createPolicyEngine(loadPolicy(h.config.policyDir));
  const principal = principalOf(h.employees[lead]);
  const ctx = { channel: 'dm' as const, at: clock.now(), purpose: 'x' };
  const expected = all.filter((c) => c.region === 'east').map((c) => {
    const d = engine.decideWith(principal, 'export', ctx, c, []);
    const shown = new Map(applyDecision(c, d).map((f) => [f.field, f.value]));
    return [c.customerId, ...(['name', 'phone', 'email', 'stage'] as const).map((f) => shown.get(f) ?? '')];
  });
  const real = rows.filter((r) => all.some((c) => c.customerId === strip(r[0]!)));
  const canaries = rows.filter((r) => !all.some((c) => c.customerId === strip(r[0]!)));
  t.is(canaries.length, 1, 'one canary row');
  t.regex(strip(canaries[0]![0]!), /^C-\d{6}$/, 'the canary looks like any customer id');
  t.deepEqual(real.map((r) => [strip(r[0]!), ...r.slice(1)]), expected, 'exactly the permitted rows, columns and masks');
  t.true(rows.every((r) => r[0]!.length === strip(r[0]!).length + 40), 'every row carries the invisible marker');
  t.false(real.some((r) => all.find((c) => c.customerId === strip(r[0]!))?.phone === r[2]), 'phones stay masked (export rule: mask:phone)');

  const audit = await h.auditRecords({ exportId, action: { $in: ['export.start', 'export.complete', 'export.download'] } }, 3);
  for (const a of ['export.start', 'export.complete', 'export.download']) t.true(audit.some((r) => r.action === a), `audited: ${a}`);
});

test.serial('custos export trace names the export and employee: whole file, no header/footer, shuffled 20-row subset', async (t) => {
  t.truthy(csv);
  const who = h.employees.salesLeadEast.employeeId;
  const whole = await trace(csv);
  t.regex(whole, new RegExp(`export ${exportId}: employee ${who}`));
  const lines = csv.slice(1).split('\r\n').filter(Boolean);
  const body = lines.slice(1, -1);
  t.regex(await trace(body.join('\r\n')), new RegExp(`export ${exportId}: employee ${who}`));
  const shuffled = body.slice(1).map((l) => ({ l, k: Math.random() })).sort((a, b) => a.k - b.k).slice(0, 20).map((x) => x.l);
  const subset = await trace(shuffled.join('\n'));
  t.regex(subset, new RegExp(`export ${exportId}: employee ${who}.*verified in 20 row`));
  const noMarkers = await trace(strip(csv));
  t.regex(noMarkers, new RegExp(`export ${exportId}: employee ${who}.*canary`), 'stripped of zero-width characters, the canary still names it');
});

test.serial('the row cap cuts the export and says so', async (t) => {
  const engine = createPolicyEngine(loadPolicy(h.config.policyDir));
  const lead = h.employees.salesLeadEast;
  const file = join(await mkdtemp(join(tmpdir(), 'custos-cap-')), 'cap.csv');
  const canary = { ...all[0]!, customerId: 'C-999999' };
  const result = await runExport(engine, h.customers, {
    exportId: 'X-CAPTEST', request: { requestId: 'R-CAPTEST', fields: ['name', 'stage'], segment: { conditions: { region: 'east' }, customerIds: [] }, purpose: 'cap' },
    grant: null, requester: lead, at: clock.now(), maxRows: 5, key: watermarkKey(h.config.audit!.hmacKey), tagId: '0123456789ab', canary,
  }, file);
  t.is(result.realRows, 5);
  t.true(result.capped);
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(file, 'utf8');
  t.is(text.split('\r\n').filter(Boolean).length, 2 + 5 + 1 + 1, 'header, column row, 5 rows, canary, footer');
  t.regex(text, /cut at 5/);
});
