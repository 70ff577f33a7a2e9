// A scripted harvest through the real bot endpoints (signed requests, Bolt, real Redis and database,
// the real audit pipeline): one user asks for 60 distinct customers at once. The GCRA limit lets the
// burst through and throttles the rest; each detector that trips (throttled refusals, distinct customers)
// posts one alert card to the security channel, on its own, and (the default policy says so) freezes the
// user; the next lookup is refused with whom to contact. Unfreeze from the card works only for someone the policy allows `admin`.
import test from 'ava';
import { demoCustomerId } from '../bot/store/demo-data.ts';
import { ACTION_SECURITY } from '../bot/slack/security-handlers.ts';
import { messageText, SlackHarness } from './helpers/slack-bot.ts';

const SECURITY_CHANNEL = 'C0SECURITY';
const h = new SlackHarness(import.meta.url, {
  customers: 80,
  extraEnv: { CUSTOS_SECURITY_CHANNEL: SECURITY_CHANNEL },
  extraChannels: [{ id: SECURITY_CHANNEL, isPrivate: true, members: ['UBOT', 'U1', 'U12'] }],
});

test.before(async () => { await h.start(); });
test.after.always(async () => { await h.close(); });

/** `/customer text` and its reply, waiting as long as a loaded machine needs. */
async function ask(key: 'supportAgent', text: string): Promise<string> {
  const { responseUrl } = await h.command(h.userId(key), h.dmOf(key), text);
  return messageText((await h.replyTo(responseUrl, 180_000)).body);
}

const alerts = () => h.fake.callsTo('chat.postMessage').filter((c) => c.body.channel === SECURITY_CHANNEL);

test.serial('a harvest is throttled after the burst, raises one alert per detector, freezes the user; Unfreeze works only for admins', async (t) => {
  t.timeout(1_200_000); // 60 concurrent lookups on a shared, loaded machine
  const harvester = h.employees.supportAgent;
  const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => ask('supportAgent', demoCustomerId(i + 1))));
  // A card starts with the customer's id; refusals (throttled, frozen) are sentences. (A card's own status
  // label may read 已冻结 — a frozen *customer* — so the text is not searched for 冻结.)
  const cards = replies.filter((r) => r.startsWith(demoCustomerId(1).slice(0, 2)));
  const throttled = replies.filter((r) => /查询过于频繁|too many lookups in a short time/.test(r) && !r.includes('rate_limited'));
  // How many the refill adds depends on how long 60 lookups take on this machine: at least the burst is
  // served, and not everything.
  t.true(cards.length >= 40 && cards.length < 60, `the burst of 40 is served (${cards.length})`);
  t.true(throttled.length >= 1, `the rest is throttled (${throttled.length})`);

  const card = await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === SECURITY_CHANNEL, 60_000);
  const text = messageText(card.body);
  t.true(text.includes(harvester.employeeId), 'the alert names the user');
  t.regex(text, /\/audit by E-\d+ since:10m/, 'and links the evidence query');
  await new Promise((r) => setTimeout(r, 1500));
  // Detectors are independent (issue 13): each one that tripped alerts once, none twice.
  const detectors = alerts().map((c) => messageText(c.body));
  t.true(detectors.length >= 1, 'an alert card');
  const kinds = detectors.map((x) => (/不同客户|distinct customers/.test(x) ? 'distinct' : /被拒绝|refused/.test(x) ? 'refusals' : /非工作时间|off-hours/.test(x) ? 'offHours' : x));
  t.is(new Set(kinds).size, kinds.length, `at most one alert card per detector (${kinds.join(', ')})`);
  t.is((await h.directory.byId(harvester.employeeId))?.status, 'frozen');
  const freeze = await h.auditRecords({ action: 'admin.freeze', 'meta.subject': harvester.employeeId });
  t.is(freeze.length, 1, 'the automatic freeze is audited');
  // More than 10 throttled refusals, or more than 45 distinct customers served, whichever came first.
  t.true(['refusals', 'distinctCustomers'].includes((freeze[0]!.meta as { detector: string }).detector));

  const next = await ask('supportAgent', demoCustomerId(70));
  t.regex(next, /冻结|frozen/);
  t.true(next.includes('#security-desk'), 'the refusal says whom to contact');

  // A sales rep cannot unfreeze; the attempt is refused and recorded.
  const denied = await h.click(h.userId('salesRep'), SECURITY_CHANNEL, ACTION_SECURITY.unfreeze, harvester.employeeId);
  t.regex(String((await h.replyTo(denied.responseUrl, 60_000)).body.text), /无权|may not/);
  t.is((await h.directory.byId(harvester.employeeId))?.status, 'frozen');
  t.is((await h.auditRecords({ action: 'admin.unfreeze', decision: 'denied' })).length, 1);

  // The admin can.
  const ok = await h.click(h.userId('admin'), SECURITY_CHANNEL, ACTION_SECURITY.unfreeze, harvester.employeeId);
  const updated = (await h.replyTo(ok.responseUrl, 60_000)).body;
  t.true(updated.replace_original === true, 'the card is updated in place');
  t.regex(String(updated.text), /解除冻结|Unfrozen/);
  t.is((await h.directory.byId(harvester.employeeId))?.status, 'active');
  t.is((await h.auditRecords({ action: 'admin.unfreeze', decision: 'allowed', 'meta.subject': harvester.employeeId })).length, 1);
  const after = await ask('supportAgent', demoCustomerId(71));
  t.true(after.includes(demoCustomerId(71)), 'lookups work again after the unfreeze');
});
