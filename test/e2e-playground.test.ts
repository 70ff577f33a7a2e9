// End to end in a real headless browser (Debian's chromium driven by playwright-core): open the
// playground, look up a customer as a sales rep, request access to the masked contact details, switch
// to the approver and approve, switch back and see the field, then query the audit log as the auditor.
// On failure a screenshot and the page's HTML are kept in .test-artifacts/.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Customer } from '../bot/core/domain.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { PlaygroundHarness } from './helpers/playground.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('.test-artifacts');
const h = new PlaygroundHarness(import.meta.url, { customers: 120 });
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
    const form = page.locator('#log form.request-form').last();
    await form.waitFor();
    await form.locator('textarea[name="purpose"]').fill('续约前核对联系人');
    await form.locator('input[name="duration"]').fill('60');
    await form.locator('input[name="groups"][value="contact"]').check();
    await form.locator('button[type="submit"]').click();
    const sent = page.locator('#log p.notice', { hasText: '已提交' }).last();
    await sent.waitFor();
    const requestId = /R-[A-P]{10}/.exec((await sent.textContent())!)![0];

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
