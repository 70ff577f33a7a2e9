// End to end in a real headless browser (Debian's chromium driven by playwright-core): open the
// playground, look up a customer as a sales rep, request access to the masked contact details, switch
// to the approver and approve, switch back and see the field, then query the audit log as the auditor.
// On failure a screenshot and the page's HTML are kept in .test-artifacts/.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Customer } from '../bot/core/domain.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { PlaygroundHarness, WORKDAY } from './helpers/playground.ts';
import { runCli } from './helpers/run-custos.ts';
import { requireEnv } from './helpers/services.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('.test-artifacts');
/** A demo clock the test moves between stories, as `custos demo --at` does (it runs on from there). */
class ClockedHarness extends PlaygroundHarness {
  private base = WORKDAY;
  private t0 = Date.now();
  override readonly clock = { now: () => new Date(this.base + (Date.now() - this.t0)) };
  setClock(at: number): void { this.base = at; this.t0 = Date.now(); }
}

// Fixed keys, so that `custos export trace` (a separate process) reads this test's database.
const KEYS = { CUSTOS_DATA_KEYS: `k1:${randomBytes(32).toString('base64')}`, CUSTOS_BLIND_INDEX_KEY: randomBytes(32).toString('base64'), CUSTOS_AUDIT_HMAC_KEY: randomBytes(32).toString('base64'), CUSTOS_AUDIT_SIGNING_KEY: randomBytes(32).toString('base64') };
const h = new ClockedHarness(import.meta.url, { customers: 120, extraEnv: KEYS });
let browser: BrowserContext | undefined;
let profile = '';

test.before(async () => {
  await h.start();
  profile = mkdtempSync(path.join(os.tmpdir(), 'custos-chromium-'));
  // A fresh user-data-dir per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});
test.after.always(async () => {
  await browser?.close();
  await h.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function keepArtifacts(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => undefined);
  writeFileSync(path.join(ARTIFACTS, `${name}.html`), await page.content().catch(() => ''));
}

async function as(page: Page, employeeId: string): Promise<void> {
  await page.selectOption('#who', employeeId);
}

async function say(page: Page, text: string): Promise<void> {
  // Replies to what was typed (not inbox items, which may arrive at any moment).
  const before = await page.locator('#log > li.to-you').count();
  await page.fill('#text', text);
  await page.click('#send');
  // The reply is the next bot entry in the log (the page's CSP forbids evaluated strings, so a locator).
  await page.locator('#log > li.to-you').nth(before).waitFor();
}

/** Fills the newest request form (contact details, 60 minutes, a reason), submits it, returns the request id. */
async function submitContactRequest(page: Page): Promise<string> {
  const form = page.locator('#log form.request-form').last();
  await form.waitFor();
  await form.locator('textarea[name="purpose"]').fill('续约前核对联系人');
  await form.locator('input[name="duration"]').fill('60');
  await form.locator('input[name="groups"][value="contact"]').check();
  await form.locator('button[type="submit"]').click();
  const sent = page.locator('#log p.notice', { hasText: '已提交' }).last();
  await sent.waitFor();
  return /R-[A-P]{10}/.exec((await sent.textContent())!)![0];
}

test('request access → approve → field shown → audit log as the auditor, in a real browser', async (t) => {
  t.true(existsSync(CHROMIUM), 'chromium is installed (.ci/run installs it)');
  const rep = demoEmployee('salesRep');
  const lead = demoEmployee('salesLeadEast'); // the rep's manager approves contact details
  const auditor = demoEmployee('auditor');
  const all: Customer[] = [];
  for await (const c of h.customers.stream({})) all.push(c);
  const customer = all.find((c) => c.region === 'east' && c.ownerId !== rep.employeeId && c.phone)!;

  const page = await browser!.newPage();
  try {
    await page.goto(h.url('/'));
    t.regex(await page.textContent('#local-only') ?? '', /仅供本地使用/);

    // 1. The sales rep looks the customer up: contact details are masked, access can be requested.
    await as(page, rep.employeeId);
    await say(page, customer.customerId);
    const card = page.locator(`#log article.card[data-customer-id="${customer.customerId}"]`).last();
    const phone = card.locator('[data-field="phone"] dd');
    t.false((await phone.textContent())!.includes(customer.phone!));
    t.is(await card.locator('[data-field="phone"].masked').count(), 1);

    // 2. Request access to the contact group with a reason and a duration.
    await card.locator('button[data-action="approval_access"]').click();
    const requestId = await submitContactRequest(page);

    // 3. The approver's inbox holds the request card; approving it is confirmed.
    await as(page, lead.employeeId);
    const approval = page.locator(`#log article.approval[data-request-id="${requestId}"]`).last();
    await approval.waitFor();
    await approval.locator('button[data-action="approval_approve"]').click();
    await page.locator('#log p.notice', { hasText: requestId }).last().waitFor();
    await page.locator(`#log article.approval[data-request-id="${requestId}"][data-state="approved"]`).waitFor();

    // 4. Back as the rep: the same lookup now shows the phone number, and names the grant.
    await as(page, rep.employeeId);
    await say(page, customer.customerId);
    const again = page.locator(`#log article.card[data-customer-id="${customer.customerId}"]`).last();
    t.is((await again.locator('[data-field="phone"] dd').textContent())?.trim(), customer.phone);
    t.regex(await again.locator('footer').textContent() ?? '', new RegExp(`G-${requestId.slice(2)}`));

    // 5. The auditor asks who viewed the customer: the rep's lookups and the grant are in the log.
    await as(page, auditor.employeeId);
    await say(page, `audit who-viewed ${customer.customerId} purpose: 例行审计抽查`);
    const table = page.locator('#log section.audit').last();
    const rows = (await table.locator('li').allTextContents()).join('\n');
    t.is(rows.match(new RegExp(`${rep.employeeId} · lookup · `, 'g'))?.length, 2, rows);
    // Everything that happened to the customer: the request, its approval, the grant and its use.
    await say(page, `audit customer:${customer.customerId} purpose: 例行审计抽查`);
    const all = (await page.locator('#log section.audit').last().locator('li').allTextContents()).join('\n');
    t.regex(all, new RegExp(`${rep.employeeId} · request\\.create`));
    t.regex(all, new RegExp(`${lead.employeeId} · request\\.approve`));
    t.regex(all, new RegExp(`${rep.employeeId} · grant\\.use`));
  } catch (err) {
    await keepArtifacts(page, 'e2e-playground');
    throw err;
  } finally {
    await page.close();
  }
});

// ---- The README's "Try it" story, at two demo clock times, asserting what a person sees ----------------

/** Inside Shanghai working hours (a Tuesday, 10:30) and outside them (the same Tuesday, 23:30). */
const INSIDE = Date.parse('2026-06-30T10:30:00+08:00');
const OUTSIDE = Date.parse('2026-06-30T23:30:00+08:00');
/** English codes of the closed value sets; a zh-CN card must show their labels instead. */
const ENUM_CODES = /\b(person|company|north|east|south|west|central|overseas|standard|silver|gold|platinum|lead|active|churned|blocked|prospect|qualified|proposal|negotiation|won|lost|current|overdue|in_collection|settled)\b/;
const ENUM_FIELDS = ['type', 'region', 'tier', 'status', 'stage', 'paymentStatus'];

/** Every button of the newest log entry matching `entry`: its box clear of the composer, and clickable where it is. */
async function buttonsUsable(page: Page, entry: string): Promise<string[]> {
  const problems: string[] = [];
  const composer = await page.locator('#composer').boundingBox();
  const buttons = page.locator(entry).last().locator('button');
  for (let i = 0; i < await buttons.count(); i++) {
    const b = buttons.nth(i);
    await b.scrollIntoViewIfNeeded();
    const box = await b.boundingBox();
    if (!box || !composer) { problems.push(`button ${i}: no box`); continue; }
    if (box.y + box.height > composer.y && box.y < composer.y + composer.height) problems.push(`button ${i} (${await b.textContent()}) overlaps the composer`);
    // A trial click runs Playwright's actionability checks, including that the button itself receives
    // the click at its centre (nothing lies over it), without clicking.
    const covered = await b.click({ trial: true, timeout: 3000 }).then(() => '', (err: Error) => err.message.split('\n')[0]);
    if (covered) problems.push(`button ${i} (${await b.textContent()}): ${covered}`);
  }
  return problems;
}

async function inboxEntry(page: Page, selector: string): Promise<void> {
  await page.locator(`#log ${selector}`).last().waitFor({ timeout: 20_000 });
}

test.serial('the README story in a browser, outside and inside Shanghai working hours: refusal states the hours; cards localised; reload keeps pending cards; export downloads and is traced', async (t) => {
  const shots = mkdtempSync(path.join(os.tmpdir(), 'custos-e2e-story-'));
  const rep = demoEmployee('salesRep');
  const agent = demoEmployee('supportAgent');
  const lead = demoEmployee('salesLeadEast');
  const head = demoEmployee('salesHead');
  const auditor = demoEmployee('auditor');
  const all: Customer[] = [];
  for await (const c of h.customers.stream({})) all.push(c);
  // Not the customer the other test uses: this story grants the rep access to its contact details.
  const customer = all.filter((c) => c.region === 'east' && c.ownerId !== rep.employeeId && c.phone)[1]!;
  const page = await browser!.newPage();
  const step = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true }).catch(() => undefined);
      writeFileSync(path.join(shots, `${name}.html`), await page.content().catch(() => ''));
      t.log(`screenshot and page of the failed step "${name}" in ${shots}`);
      throw err;
    }
  };
  try {
    // Outside working hours: the rep is refused with the hours and zone; the support agent (24/7) is not.
    h.setClock(OUTSIDE);
    await step('outside-hours', async () => {
      await page.goto(h.url('/'));
      await as(page, rep.employeeId);
      await say(page, customer.customerId);
      const refusal = await page.locator('#log li.to-you').last().textContent() ?? '';
      t.regex(refusal, /工作时间/);
      t.regex(refusal, /周一至周五 08:00–20:00/);
      t.regex(refusal, /Asia\/Shanghai/);
      await as(page, agent.employeeId);
      await say(page, customer.customerId);
      await page.locator(`#log article.card[data-customer-id="${customer.customerId}"]`).last().waitFor();
    });

    // Inside working hours: the story as the README tells it.
    h.setClock(INSIDE);
    let requestId = '';
    await step('lookup-and-request', async () => {
      await page.goto(h.url('/'));
      await as(page, rep.employeeId);
      await say(page, 'help');
      await say(page, customer.customerId);
      const card = page.locator(`#log article.card[data-customer-id="${customer.customerId}"]`).last();
      for (const f of ENUM_FIELDS) {
        const dd = card.locator(`[data-field="${f}"] dd`);
        if (await dd.count()) t.notRegex(await dd.textContent() ?? '', ENUM_CODES, `${f} is shown in Chinese`);
      }
      t.deepEqual(await buttonsUsable(page, '#log article.card'), []);
      await card.locator('button[data-action="approval_access"]').click();
      await page.locator('#log form.request-form').last().waitFor();
      t.deepEqual(await buttonsUsable(page, '#log form.request-form'), []);
      requestId = await submitContactRequest(page);
    });

    await step('reload-keeps-pending-card', async () => {
      await page.reload();
      await as(page, lead.employeeId);
      const card = `article.approval[data-request-id="${requestId}"][data-state="pending"]`;
      await inboxEntry(page, card);
      const zh = await page.locator(`#log ${card}`).last().textContent() ?? '';
      t.notRegex(zh, /\((mobile number|e-mail address)\)/);
      // `pending` lists it again, at the bottom, still clickable.
      await say(page, 'pending');
      t.regex(await page.locator('#log li.to-you').last().textContent() ?? '', /等待您审批的申请：1 条/);
      t.deepEqual(await buttonsUsable(page, '#log li.in-inbox'), []);
      await page.locator(`#log ${card}`).last().locator('button[data-action="approval_approve"]').click();
      await page.locator(`#log article.approval[data-request-id="${requestId}"][data-state="approved"]`).waitFor();
      await as(page, rep.employeeId);
      await say(page, customer.customerId);
      const again = page.locator(`#log article.card[data-customer-id="${customer.customerId}"]`).last();
      t.is((await again.locator('[data-field="phone"] dd').textContent())?.trim(), customer.phone);
    });

    // An export, typed in the box by the lead, approved by the head, delivered as a download.
    let exportId = '';
    await step('export-download-trace', async () => {
      await as(page, lead.employeeId);
      await say(page, 'export region:east fields:name,stage');
      const form = page.locator('#log form.request-form').last();
      await form.waitFor();
      await form.locator('textarea[name="purpose"]').fill('季度销售复盘');
      await form.locator('button[type="submit"]').click();
      const sent = page.locator('#log p.notice', { hasText: '已提交' }).last();
      await sent.waitFor();
      const exportRequest = /R-[A-P]{10}/.exec((await sent.textContent())!)![0];
      await as(page, head.employeeId);
      const card = `article.approval[data-request-id="${exportRequest}"]`;
      await inboxEntry(page, card);
      await page.locator(`#log ${card}`).last().locator('button[data-action="approval_approve"]').click();
      await page.locator(`#log ${card}[data-state="approved"]`).waitFor();
      await as(page, lead.employeeId);
      await inboxEntry(page, 'p.download a');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#log p.download a').last().click()]);
      const file = path.join(shots, download.suggestedFilename());
      await download.saveAs(file);
      exportId = /(X-[A-Za-z0-9]+|[A-Z]-[A-Z0-9]{6,})\.csv$/.exec(file)?.[1] ?? '';
      const env = { NODE_ENV: 'test', LOG_LEVEL: 'silent', MONGODB_URI: requireEnv('MONGODB_URI'), MONGODB_DB: h.config.mongo!.db, ...KEYS };
      const traced = await runCli(['export', 'trace', file], env);
      t.is(traced.code, 0, traced.stderr);
      t.regex(traced.stdout, new RegExp(lead.employeeId), traced.stdout);
    });
    t.log(`export file ${exportId}`);

    await step('auditor', async () => {
      await as(page, auditor.employeeId);
      await say(page, `audit who-viewed ${customer.customerId} purpose: 例行审计抽查`);
      const table = page.locator('#log section.audit').last();
      t.regex(await table.textContent() ?? '', /Asia\/Shanghai/);
      await say(page, `audit who-viewed ${customer.customerId} purpose: 客户 13812345678 投诉`);
      t.regex(await page.locator('#log li.to-you').last().textContent() ?? '', /不能包含手机号/);
    });
  } finally {
    await page.close();
  }
  rmSync(shots, { recursive: true, force: true });
});

test.serial('an approved one-time reveal shows the value in place on the card the requester is looking at, with its grant and the requester\'s zone', async (t) => {
  h.setClock(INSIDE);
  const rep = demoEmployee('salesRep');
  const lead = demoEmployee('salesLeadEast');
  const all: Customer[] = [];
  for await (const c of h.customers.stream({})) all.push(c);
  // Not the customers the other tests use: those grant the rep the whole contact group.
  const customer = all.filter((c) => c.region === 'east' && c.ownerId !== rep.employeeId && c.phone)[2]!;
  const page = await browser!.newPage();
  try {
    await page.goto(h.url('/'));
    await as(page, rep.employeeId);
    await say(page, customer.customerId);
    const card = page.locator(`#log > li[data-employee="${rep.employeeId}"] article.card[data-customer-id="${customer.customerId}"]`).last();
    const phone = card.locator('[data-field="phone"]');
    t.is(await phone.locator('dd').count(), 1);
    t.regex(await phone.getAttribute('class') ?? '', /\bmasked\b/);
    t.false((await phone.locator('dd').textContent())!.includes(customer.phone!));

    await card.locator('button[data-action="approval_reveal"][data-value*="phone"]').click();
    const form = page.locator('#log form.request-form').last();
    await form.waitFor();
    await form.locator('textarea[name="purpose"]').fill('回访前核对号码');
    await form.locator('button[type="submit"]').click();
    const sent = page.locator('#log p.notice', { hasText: '已提交' }).last();
    await sent.waitFor();
    const requestId = /R-[A-P]{10}/.exec((await sent.textContent())!)![0];

    await as(page, lead.employeeId);
    const approval = page.locator(`#log article.approval[data-request-id="${requestId}"]`).last();
    await approval.waitFor({ timeout: 20_000 });
    await approval.locator('button[data-action="approval_approve"]').click();
    await page.locator(`#log article.approval[data-request-id="${requestId}"][data-state="approved"]`).waitFor();

    // Back as the rep, without typing anything: the card already on the page shows the number in place.
    await as(page, rep.employeeId);
    await inboxEntry(page, `[data-reveal-customer="${customer.customerId}"][data-revealed="yes"]`);
    await page.locator(`#log > li[data-employee="${rep.employeeId}"] article.card[data-customer-id="${customer.customerId}"] [data-field="phone"].revealed`).last().waitFor();
    t.true((await phone.locator('dd').textContent())!.startsWith(customer.phone!), await phone.locator('dd').textContent() ?? '');
    t.notRegex(await phone.getAttribute('class') ?? '', /\bmasked\b/);
    const note = await phone.locator('.reveal-note').textContent() ?? '';
    t.true(note.includes(`G-${requestId.slice(2)}`), note);
    t.regex(note, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Asia\/Shanghai\)/);
  } catch (err) {
    await keepArtifacts(page, 'e2e-playground-reveal');
    throw err;
  } finally {
    await page.close();
  }
});
