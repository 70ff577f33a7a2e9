// A whole Slack bot for one test file: the demo company seeded into this file's database, every demo
// employee bound to a Slack user id (except the ones a test wants unbound), the fake Slack Web API, the
// audit worker, and the real bot (Bolt app + our receiver + lookup service) on an ephemeral port.
// Requests are signed exactly as Slack signs them and sent over HTTP.
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../bot/config.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { createLogger, type Logger } from '../../bot/logger.ts';
import { startBot, type BotOverrides, type RunningBot } from '../../bot/slack/runtime.ts';
import type { CustomerStore } from '../../bot/store/customer-store.ts';
import { demoEmployeeList, type DemoEmployeeKey, demoEmployees } from '../../bot/store/demo-company.ts';
import type { EmployeeStore } from '../../bot/store/employee-store.ts';
import { MongoGrantStore } from '../../bot/store/grant-store.ts';
import { startWorkers, type RunningWorkers } from '../../workers/main.ts';
import { createPolicyEngine, loadPolicy } from '../../policies/index.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import { FakeSlackApi, type FakeChannel, type RecordedCall } from '../fakes/slack-api.ts';
import { closeHarness, seedBoundCompany } from './bound-company.ts';
import { testDatabase, testEnv, uniqueName } from './services.ts';
import { blockActionBody, eventBody, FORM, JSON_TYPE, post, sign, slashCommandBody, type EventInput } from './slack-sign.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const PUBLIC_CHANNEL = 'C0PUBLIC';
export const PRIVATE_CHANNEL = 'G0PRIVATE';

/** A Tuesday, 10:30 in Shanghai: inside every demo employee's working hours. */
const WORKDAY = Date.parse('2026-06-30T02:30:00Z');

/** Slack user id of a demo employee (`U` + employee number). */
export function slackIdOf(e: Employee): string {
  return `U${e.employeeId.replace(/\D/g, '')}`;
}

export interface HarnessOptions {
  customers?: number;
  /** Demo employees left unbound (their Slack id must be found through users.info e-mail). */
  unbound?: DemoEmployeeKey[];
  overrides?: BotOverrides;
  /** Members of the public / private channels, by demo key. */
  publicMembers?: DemoEmployeeKey[];
  privateMembers?: DemoEmployeeKey[];
  extraChannels?: FakeChannel[];
  extraEnv?: Record<string, string>;
  workers?: boolean;
  /** The bot alone talks to this Redis (e.g. a dead one); seeding and the worker use the real one. */
  botRedisUrl?: string;
  /** A clock the test moves (approvals: reminders, expiry); default: a workday that runs in real time. */
  clock?: { now(): Date };
  /** Decisions read active grants from the database (approvals); default: no grants. */
  grants?: boolean;
  /** Level of the captured log (`logLines`); default info. */
  logLevel?: string;
}

export class SlackHarness {
  readonly fake: FakeSlackApi;
  readonly employees = demoEmployees();
  readonly logLines: string[] = [];
  readonly logger: Logger;
  config!: Config;
  bot!: RunningBot;
  customers!: CustomerStore;
  directory!: EmployeeStore;
  engine!: PolicyEngine;
  private workers: RunningWorkers | undefined;
  private db!: Awaited<ReturnType<typeof testDatabase>>;
  prefix = '';
  readonly clock: { now(): Date };

  constructor(private readonly file: string, private readonly opts: HarnessOptions = {}) {
    this.clock = opts.clock ?? (() => { const t0 = Date.now(); return { now: () => new Date(WORKDAY + (Date.now() - t0)) }; })();
    this.logger = createLogger({ level: opts.logLevel ?? 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => { this.logLines.push(c.toString()); cb(); } }) });
    const users = demoEmployeeList().map((e) => ({ id: slackIdOf(e), email: e.email, locale: e.locale === 'en' ? 'en-US' : 'zh-CN', name: e.name }));
    const members = (keys: DemoEmployeeKey[] | undefined) => ['UBOT', ...(keys ?? []).map((k) => slackIdOf(this.employees[k]))];
    this.fake = new FakeSlackApi({
      users,
      channels: [
        ...users.map((u) => ({ id: `D${u.id.slice(1)}`, isIm: true, members: [u.id, 'UBOT'] })),
        { id: PUBLIC_CHANNEL, members: members(opts.publicMembers) },
        { id: PRIVATE_CHANNEL, isPrivate: true, members: members(opts.privateMembers) },
        ...(opts.extraChannels ?? []),
      ],
      membersPageSize: 3, // small pages, so the member list is always read across several pages
    });
  }

  async start(): Promise<this> {
    this.db = await testDatabase(this.file);
    this.prefix = uniqueName(this.file, 'prefix');
    await this.fake.start();
    this.config = loadConfig(testEnv(this.db.name, this.prefix, {
      SLACK_BOT_TOKEN: this.fake.token, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: this.fake.apiUrl,
      SLACK_API_RETRIES: '0', HTTP_PORT: '0', CUSTOS_SECURITY_CONTACT: '#security-desk', CUSTOS_LOCALE: 'zh-CN',
      CUSTOS_AUDIT_LOCK_MS: '2000', CUSTOS_AUDIT_STALLED_MS: '1000', CUSTOS_AUDIT_LEASE_MS: '1500',
      ...(this.opts.extraEnv ?? {}),
    }), { require: ['mongo', 'redis', 'crypto', 'audit', 'slack'] });
    ({ customers: this.customers, directory: this.directory } = await seedBoundCompany(this.db.conn, this.config, { customers: this.opts.customers ?? 150, seed: 'slack-tests' }, {
      platform: 'slack', idOf: slackIdOf, employees: this.employees, ...(this.opts.unbound ? { unbound: this.opts.unbound } : {}),
    }));
    this.engine = createPolicyEngine(loadPolicy(this.config.policyDir), this.opts.grants ? { grants: new MongoGrantStore(this.db.conn) } : {});
    if (this.opts.workers !== false) this.workers = await startWorkers(this.config, this.logger, this.clock);
    const botConfig = this.opts.botRedisUrl ? { ...this.config, redis: { ...this.config.redis!, topology: { kind: 'standalone' as const, url: this.opts.botRedisUrl } } } : this.config;
    this.bot = await startBot(botConfig, this.logger, { clock: this.clock, engine: this.engine, ...this.opts.overrides });
    // Bolt calls auth.test from its constructor without awaiting it; on a loaded machine that call can land
    // in the middle of a test that counts API calls, so start() returns only once it has been made.
    await this.fake.waitFor((c) => c.method === 'auth.test', 60_000);
    return this;
  }

  async close(): Promise<void> {
    await closeHarness({ bot: this.bot, workers: this.workers, fake: this.fake, db: this.db, prefix: this.prefix });
  }

  get eventsUrl(): string { return `${this.bot.url}/slack/events`; }

  userId(key: DemoEmployeeKey): string { return slackIdOf(this.employees[key]); }
  dmOf(key: DemoEmployeeKey): string { return `D${this.userId(key).slice(1)}`; }

  /** Sends `/customer text` as `userId` in `channelId`; resolves with the HTTP status and the response URL. */
  async command(userId: string, channelId: string, text: string, opts: { triggerId?: string; timestamp?: number } = {}): Promise<{ status: number; responseUrl: string; body: string }> {
    const responseUrl = this.fake.responseUrl();
    const raw = slashCommandBody({ text, userId, channelId, responseUrl, ...(opts.triggerId ? { triggerId: opts.triggerId } : {}) });
    const res = await post(this.eventsUrl, sign(SIGNING_SECRET, raw, FORM, opts.timestamp));
    return { status: res.status, responseUrl, body: res.text };
  }

  /** `/customer text` and the reply posted to its response URL. */
  async ask(userId: string, channelId: string, text: string): Promise<RecordedCall> {
    const { status, responseUrl } = await this.command(userId, channelId, text);
    if (status !== 200) throw new Error(`slash command answered ${status}`);
    return this.replyTo(responseUrl);
  }

  replyTo(responseUrl: string, timeoutMs = 60_000): Promise<RecordedCall> {
    const path = new URL(responseUrl).pathname;
    return this.fake.waitFor((c) => c.method === 'response_url' && c.path === path, timeoutMs);
  }

  async event(e: EventInput, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const raw = eventBody(e);
    const res = await post(this.eventsUrl, sign(SIGNING_SECRET, raw, JSON_TYPE, undefined, headers));
    return { status: res.status, body: res.text };
  }

  async click(userId: string, channelId: string, actionId: string, value: string): Promise<{ status: number; responseUrl: string }> {
    const responseUrl = this.fake.responseUrl();
    const raw = blockActionBody({ userId, channelId, actionId, value, responseUrl });
    const res = await post(this.eventsUrl, sign(SIGNING_SECRET, raw, FORM));
    return { status: res.status, responseUrl };
  }

  /** Stored audit records matching `filter`, once at least `atLeast` of them are there. */
  async auditRecords(filter: Record<string, unknown>, atLeast = 1, timeoutMs = 60_000): Promise<Record<string, unknown>[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const docs = await this.db.conn.collection('audit_events').find(filter).sort({ seq: 1 }).toArray();
      if (docs.length >= atLeast || Date.now() > until) return docs as Record<string, unknown>[];
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every record stored so far (after giving the worker time to drain `settleMs`). */
  async allAuditRecords(settleMs = 0): Promise<Record<string, unknown>[]> {
    if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
    return (await this.db.conn.collection('audit_events').find({}).sort({ seq: 1 }).toArray()) as Record<string, unknown>[];
  }
}

/**
 * Each acknowledgement the bot's receiver writes (pass `onSlackAck` in the harness's overrides), with how
 * many calls had reached the fake Slack API by then. A reply recorded after its request's ack shows "ack
 * first, then work" by order, not by a wall-clock bound: Slack's 3 s is kept by the receiver's watchdog
 * (bot/slack/ack.ts), and a timed assertion fails on a loaded machine for no fault of the code.
 */
export class AckLog {
  private readonly seen: { status: number; callsBefore: number }[] = [];
  constructor(private readonly calls: () => readonly RecordedCall[]) {}
  readonly onSlackAck = (a: { status: number }): void => { this.seen.push({ status: a.status, callsBefore: this.calls().length }); };
  get count(): number { return this.seen.length; }
  /** The status of the ack written `index`-th, and whether `reply` reached Slack after it. */
  ackedFirst(index: number, reply: RecordedCall): { status: number | undefined; first: boolean } {
    const ack = this.seen[index];
    return { status: ack?.status, first: ack !== undefined && this.calls().indexOf(reply) >= ack.callsBefore };
  }
}

/** All visible text of a Block Kit message (sections, fields, context, headers, button labels). */
export function messageText(body: Record<string, unknown>): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') out.push(o.text);
      for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') walk(x);
    }
  };
  walk(body.blocks);
  return out.join('\n');
}

/** The card's `label: value` lines as a map (labels in the message's locale). */
export function cardFields(body: Record<string, unknown>): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of messageText(body).split('\n')) {
    const m = /^\*([^*]+)\*: (.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}
