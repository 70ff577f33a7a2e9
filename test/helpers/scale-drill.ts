// One scaled-out deployment under signed Slack traffic, shared by the drills in test/scale/: two bots
// behind the round-robin proxy and two workers (scale-topology.ts) on a Redis topology the drill file
// starts, seeded FerretDB, and the counting the drills assert by: which requests a bot acknowledged
// (and which bot), every reply Slack's fake received per response_url, the stored audit chain.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { ExecutionContext } from 'ava';
import { loadConfig, section } from '../../bot/config.ts';
import { verifyAuditChain } from '../../bot/core/audit-verify.ts';
import { AUDIT_QUEUE } from '../../bot/queue/audit-producer.ts';
import { auditModels } from '../../bot/store/audit-model.ts';
import { allCheckpoints, streamRecords } from '../../bot/store/audit-store.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { demoEmployee, type DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { demoCustomerId } from '../../bot/store/demo-data.ts';
import { EmployeeStore } from '../../bot/store/employee-store.ts';
import { createRedis } from '../../bot/store/redis-client.ts';
import { seedDemo } from '../../bot/store/seed.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';
import { until } from './redis-topology.ts';
import { diagnoseAnswers, type AckedRequest } from './scale-diagnose.ts';
import { killHard, startComponent, startProxy, waitReady, type CustosProcess, type RoundRobinProxy } from './scale-topology.ts';
import { testDatabase, testEnv, uniqueName } from './services.ts';
import { FLOW_PEOPLE } from './scale-flows.ts';
import type { StateValues } from './slack-approval.ts';
import { FORM, sign, slashCommandBody } from './slack-sign.ts';

const SECRET = 'scale-drill-signing-secret-0123456789';
const WORKER_READY = /audit worker started/;

export class ScaleDrill {
  db!: Awaited<ReturnType<typeof testDatabase>>;
  env!: NodeJS.ProcessEnv;
  proxy!: RoundRobinProxy;
  readonly bots: CustosProcess[] = [];
  readonly workers: CustosProcess[] = [];
  private readonly all: CustosProcess[] = [];
  readonly reps = (['supportAgent', 'supportLead', 'supportHead'] as const).map((k, i) => ({ key: k as DemoEmployeeKey, emp: demoEmployee(k), user: `U${i}REP`, dm: `D${i}REP` }));
  /** Everyone on Slack: the lookup reps and the people of the approval, export and audit flows. */
  private readonly people = [...this.reps, ...FLOW_PEOPLE.filter((k) => !this.reps.some((r) => r.key === k))
    .map((k, i) => ({ key: k, emp: demoEmployee(k), user: `U${i}FLOW`, dm: `D${i}FLOW` }))];
  readonly fake = new FakeSlackApi({
    users: this.people.map((r) => ({ id: r.user, email: r.emp.email, locale: 'en' })),
    channels: this.people.map((r) => ({ id: r.dm, isIm: true, members: [r.user, 'UBOT'] })),
  });
  readonly acked: AckedRequest[] = [];
  /** Customers with a phone, not blocked: one per reveal or access flow (a granted one shows no button). */
  flowCustomers: string[] = [];
  unacked = 0;
  private sent = 0;

  constructor(private readonly file: string) {}

  /** FerretDB seeded, two bots, two workers and the proxy, on the Redis topology `redisEnv` names (and any more settings it carries). */
  async start(redisEnv: Record<string, string>): Promise<void> {
    this.db = await testDatabase(this.file);
    await this.fake.start();
    const env = testEnv(this.db.name, uniqueName(this.file, 'prefix'), {
      SLACK_BOT_TOKEN: this.fake.token, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: this.fake.apiUrl, SLACK_API_RETRIES: '0',
      // Short locks and leases: a killed worker's jobs and chain lease, and a killed bot's pending
      // answers, are taken over within seconds. The answer lease outlasts a Redis failover (a holder
      // that cannot mark its reply during one retries, and must not be claimed meanwhile).
      CUSTOS_AUDIT_LOCK_MS: '1000', CUSTOS_AUDIT_STALLED_MS: '500', CUSTOS_AUDIT_LEASE_MS: '1000', CUSTOS_AUDIT_BATCH: '5',
      CUSTOS_AUDIT_CHECKPOINT_EVERY: '10', CUSTOS_ANSWER_LEASE_MS: '15000', CUSTOS_ANSWER_CLAIM_MS: '500', ...redisEnv,
    });
    delete env.REDIS_URL;
    this.env = env;
    const config = loadConfig(env, { require: ['mongo', 'crypto', 'redis'] });
    await seedDemo(this.db.conn, new FieldCipher(config.crypto!), { customers: 60, seed: 'scale' });
    const directory = new EmployeeStore(this.db.conn);
    for (const r of this.people) await directory.bindChatId(r.emp.employeeId, 'slack', r.user);
    const customers = new CustomerStore(this.db.conn, new FieldCipher(config.crypto!));
    for (let i = 4; i <= 60; i++) {
      const c = await customers.get(demoCustomerId(i));
      if (c?.phone && c.status !== 'blocked') this.flowCustomers.push(c.customerId);
    }
    const [a, b, w1, w2] = await Promise.all([this.bot('bot-a'), this.bot('bot-b'), this.worker('worker-1'), this.worker('worker-2')]);
    this.bots.push(a, b);
    this.workers.push(w1, w2);
    this.proxy = await startProxy([a.port!, b.port!]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map(killHard));
    // SCALE_DRILL_LOG_DIR: every process's whole log kept on disk, for reading a run after the fact.
    const dir = process.env.SCALE_DRILL_LOG_DIR;
    if (dir) {
      const run = path.join(dir, `${path.basename(this.file).replace(/\..*$/, '')}-${new Date().toISOString().replace(/[:.]/g, '')}`);
      mkdirSync(run, { recursive: true });
      for (const p of this.all) writeFileSync(path.join(run, `${p.name}.log`), p.log());
      writeFileSync(path.join(run, 'slack-calls.jsonl'), this.fake.calls.map((c) => JSON.stringify({ method: c.method, path: c.path, at: c.at, ok: c.ok, channel: (c.body as { channel?: unknown }).channel, text: String((c.body as { text?: unknown }).text ?? '').slice(0, 60) })).join('\n'));
      writeFileSync(path.join(run, 'acked.json'), JSON.stringify(this.acked));
    }
    await this.proxy?.close();
    await this.fake.stop().catch(() => undefined);
    await this.db?.drop();
  }

  async bot(name: string): Promise<CustosProcess> {
    const p = await startComponent(name, 'bot', this.env);
    this.all.push(p);
    await waitReady(p, undefined);
    return p;
  }

  async worker(name: string): Promise<CustosProcess> {
    const p = await startComponent(name, 'worker', this.env);
    this.all.push(p);
    await waitReady(p, WORKER_READY);
    return p;
  }

  live(): CustosProcess[] {
    return this.bots.filter((x) => x.child.exitCode === null && x.child.signalCode === null);
  }

  person(key: DemoEmployeeKey): { user: string; dm: string } {
    return this.people.find((p) => p.key === key)!;
  }

  /**
   * A signed request through the proxy, retried (as Slack does) while no bot acknowledged it; the
   * acknowledging bot's port and the response body, or undefined (then counted as unacknowledged).
   */
  async deliver(raw: string): Promise<{ backend: number; text: string } | undefined> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const req = sign(SECRET, raw, FORM, undefined, attempt ? { 'x-slack-retry-num': String(attempt), 'x-slack-retry-reason': 'http_error' } : {});
      const res = await fetch(`${this.proxy.url}/slack/events`, { method: 'POST', headers: req.headers, body: req.body }).catch(() => undefined);
      if (res?.status === 200) return { backend: Number(res.headers.get('x-custos-backend')), text: await res.text() };
      await new Promise((res) => setTimeout(res, 300));
    }
    this.unacked++;
    return undefined;
  }

  /** One lookup through the proxy. */
  async lookup(i: number): Promise<void> {
    const r = this.reps[i % this.reps.length]!;
    const responseUrl = this.fake.responseUrl();
    const triggerId = `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`;
    const res = await this.deliver(slashCommandBody({ text: demoCustomerId(1 + (i % 3)), userId: r.user, channelId: r.dm, responseUrl, triggerId }));
    if (res) this.acked.push({ responsePath: new URL(responseUrl).pathname, backend: res.backend, triggerId, at: Date.now(), channel: r.dm });
  }

  /** A form's submission (view_submission) as Slack sends it. */
  viewSubmission(userId: string, view: { callback_id: string; private_metadata: string }, values: StateValues): string {
    const payload = {
      type: 'view_submission', team: { id: 'T0TEST', domain: 'fake' }, user: { id: userId, username: userId.toLowerCase(), team_id: 'T0TEST' },
      api_app_id: 'A0TEST', token: 'legacy-verification-token', trigger_id: `${Date.now()}.1.${randomBytes(8).toString('hex')}`,
      view: {
        id: `V${randomBytes(5).toString('hex').toUpperCase()}`, team_id: 'T0TEST', type: 'modal', callback_id: view.callback_id,
        private_metadata: view.private_metadata, state: { values }, hash: 'h', title: { type: 'plain_text', text: 't' }, blocks: [],
      },
      response_urls: [],
    };
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  /** Whether the bot on `port` has died (killed by a drill). */
  isDead(port: number): boolean {
    const p = this.all.find((x) => x.port === port);
    return !!p && (p.child.exitCode !== null || p.child.signalCode !== null);
  }

  /** The stored decision of request `requestId`, if any. */
  async decisionOf(requestId: string): Promise<Record<string, unknown> | null> {
    return this.db.conn.collection('request_decisions').findOne({ requestId });
  }

  /** `n` lookups, three at a time; `during` runs once `atAck` of them have been acknowledged. */
  async traffic(n: number, during?: () => Promise<unknown>, atAck = 2): Promise<void> {
    const start = this.acked.length;
    let next = 0;
    const lane = async () => { while (next < n) { next++; await this.lookup(this.sent++); } };
    const drill = during ? until('traffic to start', async () => (this.acked.length - start >= atAck ? true : undefined)).then(during) : Promise.resolve();
    await Promise.all([lane(), lane(), lane(), drill]);
  }

  /** Replies Slack's fake received, per response_url path. */
  replies(): Map<string, number> {
    const per = new Map<string, number>();
    for (const c of this.fake.calls) if (c.method === 'response_url') per.set(c.path, (per.get(c.path) ?? 0) + 1);
    return per;
  }

  /**
   * Replies that refused because the audit queue could not take the event (fail closed: nothing is
   * shown, and nothing can be recorded either). Every other answered lookup has an audit event.
   */
  refusedForAudit(): number {
    const acked = new Set(this.acked.map((a) => a.responsePath));
    return this.fake.calls.filter((c) => c.method === 'response_url' && acked.has(c.path) && /audit log is unavailable|审计日志暂时不可用/.test(JSON.stringify(c.body))).length;
  }

  /** Acknowledged by `port`'s bot and not answered (yet). */
  unansweredOf(port: number): string[] {
    const per = this.replies();
    return this.acked.filter((a) => a.backend === port && !per.has(a.responsePath)).map((a) => a.responsePath);
  }

  /**
   * SIGKILL a bot while it holds a request it acknowledged and has not answered (waits for such a
   * moment while traffic flows); resolves with the requests it left unanswered, and whether `also` held
   * of it at that moment (it was applying a push batch, which the kill then cut short). Not waited for:
   * waiting for both made the lookups run out before the moment came, and sustaining them for it
   * tripped the per-user rate limit of the flows that followed.
   */
  async killBotMidAnswer(also?: (port: number) => Promise<boolean>): Promise<{ victim: CustosProcess; left: string[]; cutAlso: boolean }> {
    const victim = this.bots[0]!;
    await until('the bot to hold an acknowledged, unanswered request', async () => (this.unansweredOf(victim.port!).length > 0 ? true : undefined), 120_000);
    const cutAlso = !!also && await also(victim.port!);
    await killHard(victim);
    this.bots.shift();
    // The proxy finds it refusing connections and moves on.
    return { victim, left: this.unansweredOf(victim.port!), cutAlso };
  }

  /** Every bot's /readyz status at once (0: no answer within 10 s). */
  async readyz(): Promise<number[]> {
    return Promise.all(this.live().map((b) => fetch(`http://127.0.0.1:${b.port}/readyz`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status).catch(() => 0)));
  }

  /** Polls until every live bot's /readyz is `status`. */
  async readyzBecomes(status: number, what: string): Promise<void> {
    await until(`${what}: /readyz ${status} on every bot`, async () => ((await this.readyz()).every((s) => s === status) ? true : undefined), 120_000);
  }

  /** How many requests the live bots finished for a dead one (their logs). */
  finishedForOthers(): number {
    return this.all.reduce((n, p) => n + (p.log().match(/finishing a request whose bot stopped/g)?.length ?? 0), 0);
  }

  /**
   * Replies a claimer found begun and never confirmed (their bot killed between marking and sending):
   * never sent again on Slack, at most once (bot/runtime/pending-answers.ts). Counted from the bots' logs.
   */
  unconfirmedReplies(): number {
    return this.all.reduce((n, p) => n + (p.log().match(/a reply was begun and never confirmed/g)?.length ?? 0), 0);
  }

  /** Every acknowledged request answered exactly once (waits for the answers first), but those left at most once. */
  async assertEveryAckAnsweredOnce(t: ExecutionContext): Promise<void> {
    const missing = () => {
      const per = this.replies();
      return this.acked.filter((a) => !per.has(a.responsePath));
    };
    await until('every acknowledged request answered', async () => (missing().length <= this.unconfirmedReplies() ? true : undefined), 180_000)
      .catch(() => undefined);
    const unconfirmed = this.unconfirmedReplies();
    t.true(missing().length <= unconfirmed, `every acknowledged request answered, but ${unconfirmed} whose bot was killed mid-send: missing ${JSON.stringify(missing())}`);
    if (unconfirmed > 0) t.log(`${unconfirmed} replies begun by a killed bot and not sent again (at most once); unanswered: ${missing().length}`);
    const per = this.replies();
    // Acknowledged commands only: a form's late problems go to the card it came from, once per submission.
    const twice = this.acked.filter((a) => (per.get(a.responsePath) ?? 0) > 1);
    const unanswered = missing();
    if (twice.length > 0 || unanswered.length > unconfirmed) {
      t.log(`answered twice ${twice.length}, unanswered ${unanswered.length}; what each one's bots did:\n${await this.diagnose([...twice, ...unanswered])}`);
    }
    t.deepEqual(twice.map((a) => [a.responsePath, per.get(a.responsePath)]), [], 'no request answered twice');
    t.is(this.unacked, 0, 'every request was acknowledged by some bot within Slack-style retries');
  }

  /** The replies, ledger entries and bot log lines of `requests` (scale-diagnose.ts). */
  diagnose(requests: AckedRequest[]): Promise<string> {
    return diagnoseAnswers({ requests, calls: this.fake.calls, processes: this.all, env: this.env })
      .catch((err: unknown) => `diagnosis failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** Audit: drained, every event stored once, seq gapless from 1, the chain verifies; at least `min` events. */
  async assertAuditChain(t: ExecutionContext, min: number): Promise<number> {
    const config = loadConfig(this.env, { require: ['redis', 'audit'] });
    const connection = createRedis(section(config, 'redis'), { maxRetriesPerRequest: null });
    const queue = new Queue(AUDIT_QUEUE, { connection, prefix: section(config, 'redis').queuePrefix });
    // Not awaited: a Queue on a cluster that lost a node can wait long in close(); the connection is ours.
    t.teardown(() => { void queue.close().catch(() => undefined); connection.disconnect(); });
    await until('audit queue drained', async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0) ? true : undefined;
    }, 180_000);
    const models = await auditModels(this.db.conn);
    const docs = await models.events.collection.find({}, { projection: { seq: 1, eventId: 1 } }).sort({ seq: 1 }).toArray();
    t.deepEqual(docs.map((d) => d.seq), docs.map((_, i) => i + 1), 'seq is gapless from 1');
    t.is(new Set(docs.map((d) => String(d.eventId))).size, docs.length, 'no event stored twice');
    // Lookups refused because the audit queue could not take their event (fail closed) have none.
    t.true(docs.length >= min, `an audit record for every answered, unrefused lookup at least (${docs.length} ≥ ${min})`);
    const verdict = await verifyAuditChain(streamRecords(models), await allCheckpoints(models), section(config, 'audit').signingKey);
    t.true(verdict.ok, JSON.stringify(verdict.problem));
    return docs.length;
  }

  /**
   * Lookups recorded more than once for one request (a finishing replica must reuse the event ids).
   * Only lookups of a chat request count: the lookup behind a card the bot re-renders itself (a reveal
   * shown in place) belongs to no request and carries no correlation id.
   */
  async lookupsPerRequest(): Promise<number[]> {
    const models = await auditModels(this.db.conn);
    const docs = await models.events.collection.find({ action: 'lookup', correlationId: { $exists: true } }, { projection: { correlationId: 1, 'meta.stage': 1 } }).toArray();
    const per = new Map<string, number>();
    for (const d of docs) {
      const key = `${String(d.correlationId)}|${String((d.meta as { stage?: string } | undefined)?.stage)}`;
      per.set(key, (per.get(key) ?? 0) + 1);
    }
    return [...per.values()].filter((n) => n > 1);
  }
}
