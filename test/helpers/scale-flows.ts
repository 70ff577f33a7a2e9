// The approval, export and audit traffic of the scale drills (issue 21), sent through the drill's
// round-robin proxy exactly as Slack sends it, so consecutive requests land on different bot replicas:
// a reveal asked from a lookup card and approved by a burst of concurrent Approve clicks on the same
// card; an export approved the same way and delivered by a worker; an auditor's /audit query. Each
// step is done as a user does it: if nothing comes of a click (refused fail-closed while Redis fails
// over, or the bot that acknowledged it died, since clicks and forms are not ledgered), click again.
// What each flow produced is kept for the counting in scale-flow-checks.ts.
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import type { RecordedCall } from '../fakes/slack-api.ts';
import { until } from './redis-topology.ts';
import { diagnoseExport } from './scale-export-diagnose.ts';
import type { ScaleDrill } from './scale-drill.ts';
import { buttons, openedView, requestValues, type StateValues } from './slack-approval.ts';
import { blockActionBody, slashCommandBody } from './slack-sign.ts';

/**
 * Waits (up to five minutes) until none of `requestIds` is pending: a decision whose bot was killed between
 * its compare-and-swap and its effects is finished by the sweeper, later. Still pending then: the callers'
 * checks name the request.
 */
export async function untilDecided(db: Connection, requestIds: string[]): Promise<void> {
  const pending = () => db.collection('access_requests').countDocuments({ requestId: { $in: requestIds }, status: 'pending' });
  await until('every decided request finished', async () => ((await pending()) === 0 ? true : undefined), 300_000).catch(() => undefined);
}

/** The demo people the flows need beyond the lookup reps: requesters, approvers, an auditor. */
export const FLOW_PEOPLE: readonly DemoEmployeeKey[] = ['supportAgent', 'supportLead', 'salesLeadEast', 'salesHead', 'auditor'];

/** One request the proxy delivered: its response_url path, the bot that acknowledged it, the calls before it. */
export interface Delivered { responsePath: string; backend: number; since: number; text: string }

export interface FlowRecords {
  /** Every approval request a flow created, with its kind. */
  requests: { requestId: string; kind: 'reveal' | 'access' | 'export' }[];
  /** Reveals: the customer, and the card the approved reveal replaced in place (it should show the phone). */
  reveals: { requestId: string; customerId: string; shown: string }[];
  /** Access requests for the contact group: later lookups of the customer should show the phone. */
  accesses: { requestId: string; customerId: string }[];
  /** Every Approve click of every burst (each must be answered once unless its bot died). */
  clicks: Delivered[];
  /** /audit queries acknowledged (each answered once, with a table). */
  auditQueries: Delivered[];
}

const APPROVED = /您已批准申请|You approved request/;
const TRIES = 8;

export class ScaleFlows {
  readonly records: FlowRecords = { requests: [], reveals: [], accesses: [], clicks: [], auditQueries: [] };
  private customersUsed = 0;
  /** Steps a user had to repeat (refused while Redis failed over, or their bot died). */
  private retries = 0;

  constructor(private readonly drill: ScaleDrill) {}

  /** One of each flow, at once (each on its own requester and approver, so their cards cannot mix). */
  async once(burst: number): Promise<void> {
    await Promise.all([this.revealThenAccess(burst), this.exportApproved(burst), this.auditQuery()]);
  }

  /** One after the other: both are approved by supportLead, whose new card tells the request apart. */
  private async revealThenAccess(burst: number): Promise<void> {
    await this.revealApproved(burst);
    await this.accessApproved(burst);
  }

  /** supportAgent asks to reveal a customer's phone; supportLead's Approve is clicked `burst` times at once; the card shows the phone. */
  async revealApproved(burst: number): Promise<void> {
    const customerId = this.nextCustomer();
    const button = await this.cardButton(customerId, (b) => b.actionId.startsWith('approval_reveal') && (JSON.parse(b.value) as { f?: string }).f === 'phone');
    const { delivered: origin, view } = await this.persist('the reveal form', async () => this.click('supportAgent', button.actionId, button.value), (d) => this.modalOf(d));
    const requestId = await this.submitUntilCard('supportAgent', origin, view, requestValues('核对来电号码', 30), 'supportLead');
    this.records.requests.push({ requestId, kind: 'reveal' });
    await this.approveInBursts('supportLead', requestId, burst);
    // The requester's card is replaced in place through the Reveal click's response_url, the phone shown.
    const shown = await this.drill.fake.waitFor((c) => c.method === 'response_url' && c.path === origin.responsePath && c.body.replace_original === true, 240_000);
    this.records.reveals.push({ requestId, customerId, shown: JSON.stringify(shown.body) });
  }

  /** supportAgent asks for the contact group of a customer from the card; supportLead approves in a burst. */
  async accessApproved(burst: number): Promise<void> {
    const customerId = this.nextCustomer();
    const button = await this.cardButton(customerId, (b) => b.actionId.startsWith('approval_access'));
    const { delivered, view } = await this.persist('the access form', async () => this.click('supportAgent', button.actionId, button.value), (d) => this.modalOf(d));
    const requestId = await this.submitUntilCard('supportAgent', delivered, view, requestValues('客户回访', 120, ['contact']), 'supportLead');
    this.records.requests.push({ requestId, kind: 'access' });
    await this.approveInBursts('supportLead', requestId, burst);
    this.records.accesses.push({ requestId, customerId });
  }

  /** salesLeadEast asks for an export; salesHead's Approve is clicked `burst` times at once; a worker delivers the file. */
  async exportApproved(burst: number): Promise<void> {
    const { delivered, view } = await this.persist('the export form', () => this.command('salesLeadEast', '/customer', 'export region:east fields:name,phone,stage', false), (d) => this.modalOf(d));
    const requestId = await this.submitUntilCard('salesLeadEast', delivered, view, requestValues('季度客户回访', 120), 'salesHead');
    this.records.requests.push({ requestId, kind: 'export' });
    // Only a file delivered after this approval is this export's: an earlier export's file already in
    // the DM let a run go on without waiting (and then miss this one's export.complete).
    const before = new Set(this.drill.fake.calls);
    await this.approveInBursts('salesHead', requestId, burst);
    await this.drill.fake.waitFor((c) => c.method === 'files.completeUploadExternal' && c.ok && c.body.channel_id === this.drill.person('salesLeadEast').dm && !before.has(c), 240_000)
      .catch(async (err: Error) => { throw new Error(`${err.message.slice(0, 200)}; export ${requestId}: ${await diagnoseExport(this.drill.env, this.drill.db.conn, requestId)}`); });
  }

  /** The auditor lists a rep's lookups; answered (once) with a table. */
  async auditQuery(): Promise<void> {
    const text = `by ${this.drill.reps[0]!.emp.employeeId} action:lookup purpose: 扩容演练抽查`;
    const d = await this.persist('the audit table', () => this.command('auditor', '/audit', text, true), async (x) => (this.replyOf(x, isTable) ? x : undefined));
    this.records.auditQueries.push(d);
  }

  /** Counts for the test log. */
  summary(): string {
    const r = this.records;
    return `${r.requests.length} requests approved (${r.reveals.length} reveals, ${r.accesses.length} access, ${r.requests.length - r.reveals.length - r.accesses.length} exports), ${r.clicks.length} Approve clicks, ${r.auditQueries.length} audit queries; ${this.retries} steps repeated by the user`;
  }

  /**
   * After the drills: supportAgent looks each customer of an access grant up again (the card, by customer
   * id), once its request is decided. A decision whose bot was killed between its compare-and-swap and
   * the grant is finished by the sweeper, later: a lookup before that rightly shows no phone yet (a CI
   * run looked too early). scale-flow-checks.ts then asserts the grant and its one grant.start.
   */
  async lookupsAfter(): Promise<Map<string, string>> {
    await untilDecided(this.drill.db.conn, this.records.accesses.map((a) => a.requestId));
    const out = new Map<string, string>();
    for (const { customerId } of this.records.accesses) out.set(customerId, JSON.stringify((await this.lookupCard(customerId)).body));
    return out;
  }

  private nextCustomer(): string {
    const list = this.drill.flowCustomers;
    if (this.customersUsed >= list.length) throw new Error('the drill ran out of customers for its flows (a granted customer shows no request button)');
    return list[this.customersUsed++]!;
  }

  private lookupCard(customerId: string): Promise<RecordedCall> {
    return this.persist('the lookup card', () => this.command('supportAgent', '/customer', customerId, true), async (d) => this.replyOf(d, (b) => b.some((x) => x.type === 'header')));
  }

  /** The button `which` on supportAgent's card of `customerId`. */
  private async cardButton(customerId: string, which: (b: ReturnType<typeof buttons>[number]) => boolean): Promise<ReturnType<typeof buttons>[number]> {
    const card = await this.lookupCard(customerId);
    const button = buttons(card.body).find(which);
    if (!button) throw new Error(`no such button on the card of ${customerId}: ${JSON.stringify(card.body).slice(0, 800)}`);
    return button;
  }

  // ---- steps ------------------------------------------------------------------------------------

  /** A slash command through the proxy; `ledgered` ones join the drill's answered-once count. */
  private async command(key: DemoEmployeeKey, command: string, text: string, ledgered: boolean): Promise<Delivered | undefined> {
    const p = this.drill.person(key);
    const responseUrl = this.drill.fake.responseUrl();
    const since = this.drill.fake.calls.length;
    const trigger = triggerId();
    const raw = slashCommandBody({ command, text, userId: p.user, channelId: p.dm, responseUrl, triggerId: trigger });
    const res = await this.drill.deliver(raw);
    if (!res) return undefined;
    const d = { responsePath: new URL(responseUrl).pathname, backend: res.backend, since, text: raw };
    if (ledgered) this.drill.acked.push({ ...d, triggerId: trigger, at: Date.now(), channel: p.dm });
    return d;
  }

  private async click(key: DemoEmployeeKey, actionId: string, value: string): Promise<Delivered | undefined> {
    const p = this.drill.person(key);
    const responseUrl = this.drill.fake.responseUrl();
    const since = this.drill.fake.calls.length;
    const raw = blockActionBody({ userId: p.user, channelId: p.dm, actionId, value, responseUrl });
    const res = await this.drill.deliver(raw);
    return res && { responsePath: new URL(responseUrl).pathname, backend: res.backend, since, text: raw };
  }

  /**
   * Submits the form until a card naming a new request reaches `approver` (or the bot says one is
   * pending). A problem found after the form closed is told on the card it came from (`origin`): submit again.
   */
  private async submitUntilCard(key: DemoEmployeeKey, origin: Delivered, view: { callback_id: string; private_metadata: string }, values: StateValues, approver: DemoEmployeeKey): Promise<string> {
    const known = new Set(this.records.requests.map((r) => r.requestId));
    const dm = this.drill.person(approver).dm;
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const since = this.drill.fake.calls.length;
      const res = await this.drill.deliver(this.drill.viewSubmission(this.drill.person(key).user, view, values));
      // A resubmission after a lost answer: "you already have the same pending request #R-…".
      const pending = /#(R-[A-P]{10})/.exec(res?.text ?? '')?.[1];
      if (pending && !known.has(pending)) return pending;
      if (res?.text === '') {
        const card = await until('the approver card', async () => {
          const c = this.drill.fake.calls.slice(since).find((x) => x.method === 'chat.postMessage' && x.body.channel === dm && /#R-[A-P]{10}/.test(String(x.body.text)));
          const id = c && /#(R-[A-P]{10})/.exec(String(c.body.text))![1]!;
          if (id && !known.has(id)) return id;
          const toldLate = this.drill.fake.calls.slice(since).some((x) => x.method === 'response_url' && x.path === origin.responsePath);
          return toldLate || this.drill.isDead(res.backend) ? null : undefined;
        }, 240_000);
        if (card) return card;
      }
      this.retries++;
      await pause();
    }
    throw new Error(`${key}'s request never reached ${approver}`);
  }

  /** `burst` concurrent Approve clicks by `approver` (spread over the replicas), again until the request is decided. */
  private async approveInBursts(approver: DemoEmployeeKey, requestId: string, burst: number): Promise<void> {
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const sent = (await Promise.all(Array.from({ length: burst }, () => this.click(approver, 'approval_approve', requestId)))).filter((d): d is Delivered => !!d);
      this.records.clicks.push(...sent);
      // Decided, or every click of the burst answered (each refused, say) or left by a dead bot: then click again.
      const decided = await until(`${requestId} decided`, async () => {
        if (await this.drill.decisionOf(requestId)) return true;
        const per = this.drill.replies();
        return sent.every((d) => per.has(d.responsePath) || this.drill.isDead(d.backend)) ? false : undefined;
      }, 240_000);
      if (decided) return;
      const answers = sent.map((d) => this.drill.fake.calls.find((c) => c.method === 'response_url' && c.path === d.responsePath)).filter((c) => c && APPROVED.test(JSON.stringify(c.body)));
      if (answers.length) return;
      this.retries++;
      await pause();
    }
    throw new Error(`${requestId} was never decided`);
  }

  /**
   * As a user does: `act`, then wait for `outcome`; if the bot answered something else (a refusal) or
   * died holding the request, act again.
   */
  private async persist<T>(what: string, act: () => Promise<Delivered | undefined>, outcome: (d: Delivered) => Promise<T | undefined>): Promise<T> {
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const d = await act();
      if (d) {
        const got = await until(what, async () => {
          const v = await outcome(d);
          if (v !== undefined) return { v };
          return this.drill.replies().has(d.responsePath) || this.drill.isDead(d.backend) ? {} : undefined;
        }, 240_000);
        if ('v' in got) return got.v as T;
      }
      this.retries++;
      await pause();
    }
    throw new Error(`${what}: nothing came of ${TRIES} tries`);
  }

  /** The reply to `d`'s response_url if its blocks are what was asked for (not a refusal). */
  private replyOf(d: Delivered, wanted: (blocks: Block[]) => boolean): RecordedCall | undefined {
    const reply = this.drill.fake.calls.find((c) => c.method === 'response_url' && c.path === d.responsePath);
    return reply && wanted((reply.body.blocks ?? []) as Block[]) ? reply : undefined;
  }

  /** The form opened for `d` (views.open with its trigger_id) and `d` itself. */
  private async modalOf(d: Delivered): Promise<{ delivered: Delivered; view: ReturnType<typeof openedView> } | undefined> {
    const trigger = triggerOf(d.text);
    const call = this.drill.fake.calls.slice(d.since).find((c) => c.method === 'views.open' && c.body.trigger_id === trigger);
    return call && { delivered: d, view: openedView(call) };
  }
}

type Block = { type: string; text?: { text?: string } };

/** An audit table: rows in code sections and the context footer (a refusal or notice is one section). */
export const isTable = (blocks: Block[]) => blocks.some((b) => b.type === 'context') && blocks.some((b) => b.text?.text?.startsWith('```'));

function triggerId(): string {
  return `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`;
}

/** The trigger_id inside a slash command's form or an interaction's `payload=` form. */
function triggerOf(raw: string): string {
  const form = new URLSearchParams(raw);
  const payload = form.get('payload');
  return payload ? String((JSON.parse(payload) as { trigger_id: string }).trigger_id) : form.get('trigger_id')!;
}

const pause = () => new Promise((r) => setTimeout(r, 1000));
