// Identical request submissions at the same instant make exactly one request (a unique key per requester
// and ask, request-store.ts `request_asks`), not one per submission: the read of pending requests cannot
// see a twin that is being created at the same moment. Fired through the real playground, so what is
// asserted is what each submitter reads, what the store holds and what the audit log records.
import test from 'ava';
import { auditModels } from '../bot/store/audit-model.ts';
import { demoEmployee } from '../bot/store/demo-company.ts';
import { REQUEST_COLLECTION } from '../bot/store/request-store.ts';
import { PlaygroundHarness, textOf } from './helpers/playground.ts';

const SUBMISSIONS = Number(process.env.DUPLICATE_SUBMISSIONS ?? 6);
const ROUNDS = Number(process.env.DUPLICATE_ROUNDS ?? 4);
const h = new PlaygroundHarness(import.meta.url, { customers: 60 });
const rep = demoEmployee('salesRep'); // 张伟
const customers: string[] = [];

test.before(async () => {
  await h.start();
  for await (const c of h.customers.stream({})) if (c.ownerId !== rep.employeeId && c.region === 'east' && c.phone) customers.push(c.customerId);
});
test.after.always(() => h.close());

const submit = (customerId: string, purpose = '续约跟进') => h.click(rep.employeeId, 'approval_submit',
  JSON.stringify({ target: { kind: 'reveal', customerId, field: 'phone' }, channelKind: 'dm' }), { form: { purpose, duration: '15' } });

/** `request.create` audit events about this customer, once the worker has stored `min` of them (or the wait is over). */
async function createdEvents(customerId: string, min: number): Promise<{ requestId: string }[]> {
  const { events } = await auditModels(h.conn);
  let found: { requestId: string }[] = [];
  for (let i = 0; i < 50; i++) {
    found = await events.find({ action: 'request.create', customerIds: customerId }).lean<{ requestId: string }[]>();
    if (found.length >= min) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}

test.serial('identical submissions at the same instant: one request, one audit event, the others told it is already pending', async (t) => {
  await submit(customers[ROUNDS + 1]!); // warm: the first submission of a process loads the policy paths; the race is what is tested
  // Several rounds (a race is a matter of timing): each fires SUBMISSIONS identical submissions at once.
  const rounds = await Promise.all(customers.slice(0, ROUNDS).map(async (customerId) => ({
    customerId, texts: (await Promise.all(Array.from({ length: SUBMISSIONS }, () => submit(customerId)))).map((a) => textOf(a.replies[0]!.html)),
  })));
  for (const { customerId, texts } of rounds) {
    const stored = await h.conn.collection(REQUEST_COLLECTION).find({ requesterId: rep.employeeId, customerIds: customerId }).toArray();
    t.is(stored.length, 1, `${customerId}: one request, not ${stored.length}:\n${texts.join('\n')}`);
    const requestId = String(stored[0]?.requestId);
    const already = `您已有相同的待审批申请 #${requestId}，未重复创建。`;
    t.is(texts.filter((x) => x.includes(already)).length, SUBMISSIONS - 1, texts.join('\n'));
    t.is(texts.filter((x) => x.includes(requestId) && !x.includes(already)).length, 1, 'exactly one submitter is told the request was sent');
  }
  // Give the worker time to store any second event before counting: there must be exactly one per round.
  for (const { customerId } of rounds) await createdEvents(customerId, 1);
  await new Promise((r) => setTimeout(r, 500));
  for (const { customerId } of rounds) {
    const stored = await h.conn.collection(REQUEST_COLLECTION).findOne({ requesterId: rep.employeeId, customerIds: customerId });
    t.deepEqual((await createdEvents(customerId, 1)).map((e) => e.requestId), [String(stored?.requestId)]);
  }
});

test.serial('once the pending request is decided, the same ask can be made again (the slot is freed), once', async (t) => {
  const customerId = customers[ROUNDS]!;
  const first = await submit(customerId);
  const firstId = /(R-[A-P]{10})/.exec(textOf(first.replies[0]!.html))?.[1];
  if (!firstId) return t.fail(textOf(first.replies[0]!.html));
  const cancelled = await h.click(rep.employeeId, 'approval_cancel', firstId);
  t.true(textOf(cancelled.replies[0]!.html).includes(firstId), textOf(cancelled.replies[0]!.html));
  const again = await Promise.all(Array.from({ length: 3 }, () => submit(customerId, '续约跟进（第二次）')));
  const ids = new Set(again.map((a) => /(R-[A-P]{10})/.exec(textOf(a.replies[0]!.html))?.[1]));
  t.is(ids.size, 1, again.map((a) => textOf(a.replies[0]!.html)).join('\n'));
  t.false(ids.has(firstId), 'a new request, not the cancelled one');
  const pending = await h.conn.collection(REQUEST_COLLECTION).countDocuments({ requesterId: rep.employeeId, customerIds: customerId, status: 'pending' });
  t.is(pending, 1);
});
