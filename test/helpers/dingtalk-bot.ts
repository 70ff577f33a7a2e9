// A whole DingTalk bot for one test file: the demo company seeded into this file's database, demo
// employees bound to DingTalk userids (except the ones a test wants unbound, found by the contact
// API's e-mail), the fake DingTalk Open API, the audit worker, and the real bot on an ephemeral port.
// Robot messages are signed as DingTalk signs them and POSTed to custos's real callback endpoint.
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../bot/config.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { ApprovalService } from '../../bot/core/approvals/service.ts';
import { approvalSettingsOf } from '../../bot/core/approvals/settings.ts';
import { dingtalkChat } from '../../bot/dingtalk/notifiers.ts';
import { MongoRequestStore } from '../../bot/store/request-store.ts';
import { loadPolicy } from '../../policies/index.ts';
import { loadDingTalkConfig } from '../../bot/dingtalk/config.ts';
import { startDingTalkBot, type DingTalkOverrides, type RunningDingTalkBot } from '../../bot/dingtalk/runtime.ts';
import { createLogger, type Logger } from '../../bot/logger.ts';
import { botFlows } from '../../bot/runtime/chat-flows.ts';
import type { CustomerStore } from '../../bot/store/customer-store.ts';
import { demoEmployeeList, demoEmployees, type DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import type { EmployeeStore } from '../../bot/store/employee-store.ts';
import { startWorkers, type RunningWorkers } from '../../workers/main.ts';
import { cardButtons, cardCallback, FakeDingTalkApi, robotMessage, signedHeaders, type DeliveredCard } from '../fakes/dingtalk.ts';
import { closeHarness, seedBoundCompany } from './bound-company.ts';
import { testDatabase, testEnv, uniqueName } from './services.ts';

/** A Tuesday, 10:30 in Shanghai: inside every demo employee's working hours. */
const WORKDAY = Date.parse('2026-06-30T02:30:00Z');

export function userIdOf(e: Employee): string {
  return `dt${e.employeeId.replace(/\D/g, '')}`;
}

export interface DingTalkHarnessOptions {
  customers?: number;
  /** The demo company's seed (default `dingtalk-tests`; the scenario driver seeds the other platforms' company). */
  seed?: string;
  unbound?: DemoEmployeeKey[];
  overrides?: DingTalkOverrides;
  innerMembers?: DemoEmployeeKey[];
  /** More internal groups the fake knows (the scenario driver's security group), by their members. */
  groups?: { conversationId: string; members: DemoEmployeeKey[] }[];
  /** More DINGTALK_* settings (Stream mode), and what to start before the bot (the fake Stream gateway). */
  env?: Record<string, string>; beforeBot?: () => Promise<void>;
  /** The bot's and the workers' clock (default: a workday clock running with real time). */
  clock?: { now(): Date };
  /**
   * Wire the flows as `custos start` does: the bot's from the platform registry (chatFlows), and the
   * workers' chat (sweeper, exports, reviews) through DingTalk's module, which reads the environment, so
   * the DINGTALK_* settings are put into this test process's environment.
   */
  registry?: boolean;
}

export const EVENT_TOKEN = 'custos-event-token';
export const EVENT_AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** An internal group (members readable) and a cross-organisation one (not). */
export const INNER_GROUP = 'cidInnerGroup001';
/** The `token` of the card callback URL (DINGTALK_CARD_CALLBACK_TOKEN). */
export const CARD_TOKEN = 'card-callback-token-0123456789abcdef';
export const OTHER_ORG_GROUP = 'cidOtherOrgGroup01';

export class DingTalkHarness {
  readonly fake: FakeDingTalkApi;
  readonly employees = demoEmployees();
  readonly logLines: string[] = [];
  readonly logger: Logger;
  readonly handled: string[] = [];
  readonly clock: { now(): Date };
  config!: Config;
  bot!: RunningDingTalkBot;
  customers!: CustomerStore;
  directory!: EmployeeStore;
  prefix = '';
  private workers: RunningWorkers | undefined;
  private db!: Awaited<ReturnType<typeof testDatabase>>;

  constructor(private readonly file: string, private readonly opts: DingTalkHarnessOptions = {}) {
    const t0 = Date.now();
    this.clock = opts.clock ?? { now: () => new Date(WORKDAY + (Date.now() - t0)) };
    this.logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => { this.logLines.push(c.toString()); cb(); } }) });
    const inner = (opts.innerMembers ?? []).map((k) => userIdOf(this.employees[k]));
    this.fake = new FakeDingTalkApi({
      users: demoEmployeeList().map((e) => ({ userId: userIdOf(e), orgEmail: e.email, name: e.name })),
      groups: [
        { conversationId: INNER_GROUP, inner: true, members: inner }, { conversationId: OTHER_ORG_GROUP, inner: false, members: [] },
        ...(opts.groups ?? []).map((g) => ({ conversationId: g.conversationId, inner: true, members: g.members.map((k) => userIdOf(this.employees[k])) })),
      ],
    });
  }

  async start(): Promise<this> {
    this.db = await testDatabase(this.file);
    this.prefix = uniqueName(this.file, 'prefix');
    await this.fake.start();
    const env = testEnv(this.db.name, this.prefix, {
      DINGTALK_APP_KEY: this.fake.appKey, DINGTALK_APP_SECRET: this.fake.appSecret, DINGTALK_CORP_ID: this.fake.corpId,
      DINGTALK_CARD_TEMPLATE_ID: this.fake.cardTemplateId, DINGTALK_API_URL: this.fake.url, DINGTALK_OAPI_URL: this.fake.url,
      DINGTALK_EVENT_TOKEN: EVENT_TOKEN, DINGTALK_CARD_CALLBACK_TOKEN: CARD_TOKEN, DINGTALK_EVENT_AES_KEY: EVENT_AES_KEY,
      DINGTALK_HTTP_PORT: '0', CUSTOS_SECURITY_CONTACT: '#security-desk', CUSTOS_LOCALE: 'zh-CN',
      CUSTOS_AUDIT_LOCK_MS: '2000', CUSTOS_AUDIT_STALLED_MS: '1000', CUSTOS_AUDIT_LEASE_MS: '1500', ...this.opts.env,
    });
    this.config = loadConfig(env, { require: ['mongo', 'redis', 'crypto', 'audit'] });
    ({ customers: this.customers, directory: this.directory } = await seedBoundCompany(this.db.conn, this.config, { customers: this.opts.customers ?? 120, seed: this.opts.seed ?? 'dingtalk-tests' }, {
      platform: 'dingtalk', idOf: userIdOf, employees: this.employees, ...(this.opts.unbound ? { unbound: this.opts.unbound } : {}),
    }));
    if (this.opts.registry) Object.assign(process.env, Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('DINGTALK_'))));
    this.workers = await startWorkers(this.config, this.logger, this.clock);
    await this.opts.beforeBot?.();
    const config = this.config;
    const registry: DingTalkOverrides = this.opts.registry ? { flows: (services) => botFlows(services, config, this.logger, 'dingtalk') } : {};
    this.bot = await startDingTalkBot(this.config, this.logger, {
      clock: this.clock, onHandled: (id) => this.handled.push(id), ...registry, ...this.opts.overrides,
    }, loadDingTalkConfig(env));
    return this;
  }

  async close(): Promise<void> {
    await closeHarness({ bot: this.bot, workers: this.workers, fake: this.fake, db: this.db, prefix: this.prefix });
  }

  get callbackUrl(): string { return `${this.bot.url}/dingtalk/callback`; }
  get conn() { return this.db.conn; }
  userId(key: DemoEmployeeKey): string { return userIdOf(this.employees[key]); }

  /** A robot message from `userId` (1:1 unless `group`), as DingTalk would send it. */
  message(userId: string, text: string, o: { group?: string; msgId?: string; mentioned?: { staffId?: string }[] } = {}): Record<string, unknown> {
    return robotMessage({
      userId, text, conversationId: o.group ?? `cid-dm-${userId}`, robotCode: this.fake.appKey, corpId: this.fake.corpId,
      ...(o.group ? { group: true } : {}), ...(o.msgId ? { msgId: o.msgId } : {}), ...(o.mentioned ? { mentioned: o.mentioned } : {}),
    });
  }

  /** POSTs `body` with the given headers (default: signed now with the app secret). */
  async post(body: string, headers: Record<string, string> = signedHeaders(this.fake.appSecret)): Promise<{ status: number; text: string }> {
    const res = await fetch(this.callbackUrl, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body });
    return { status: res.status, text: await res.text() };
  }

  /** `text` typed by `key` in their 1:1 robot chat (or @mentioning the bot in `group`); resolves with the card custos delivered to them. */
  async ask(key: DemoEmployeeKey | string, text: string, group?: string, mentioned?: { staffId?: string }[]): Promise<DeliveredCard> {
    const userId = key in this.employees ? this.userId(key as DemoEmployeeKey) : key;
    const before = new Set(this.fake.cards.keys());
    const res = await this.post(JSON.stringify(this.message(userId, text, { ...(group ? { group } : {}), ...(mentioned ? { mentioned } : {}) })));
    if (res.status !== 200) throw new Error(`callback answered ${res.status}`);
    return this.fake.waitForCard((c) => c.space === `robot:${userId}` && !before.has(c.outTrackId));
  }

  /** POSTs a card callback body to /dingtalk/card with `token` (default: the registered one). */
  async postCard(body: string, token: string | null = CARD_TOKEN): Promise<{ status: number; text: string }> {
    const res = await fetch(`${this.bot.url}/dingtalk/card${token === null ? '' : `?token=${encodeURIComponent(token)}`}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, text: await res.text() };
  }

  /** The body of `key` clicking the button `id` on `card` (the first whose text matches), with a form's inputs. */
  clickBody(key: DemoEmployeeKey, card: DeliveredCard, id: string, inputs: Record<string, unknown> = {}, match: (text: string) => boolean = () => true): string {
    const b = cardButtons(card).find((x) => x.id === id && match(x.text));
    if (!b) throw new Error(`no ${id} button on the card: ${cardText(card)}`);
    return cardCallback({ outTrackId: card.outTrackId, userId: this.userId(key), corpId: this.fake.corpId, params: { action: b.id, value: b.value, ...inputs } });
  }

  /** Clicks and expects DingTalk's answer to be accepted. */
  async click(key: DemoEmployeeKey, card: DeliveredCard, id: string, inputs: Record<string, unknown> = {}, match?: (text: string) => boolean): Promise<void> {
    const res = await this.postCard(this.clickBody(key, card, id, inputs, match));
    if (res.status !== 200) throw new Error(`card callback answered ${res.status}`);
  }

  /** POSTs an event-subscription request (query string and body as DingTalk sends them). */
  async event(query: string, body: string): Promise<{ status: number; json: Record<string, string> }> {
    const res = await fetch(`${this.bot.url}/dingtalk/events?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, json: await res.json() as Record<string, string> };
  }

  async auditRecords(filter: Record<string, unknown>, atLeast = 1, timeoutMs = 60_000): Promise<Record<string, unknown>[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const docs = await this.db.conn.collection('audit_events').find(filter).sort({ seq: 1 }).toArray();
      if (docs.length >= atLeast || Date.now() > until) return docs as Record<string, unknown>[];
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The card's fields as `label → value` (what the reader sees). */
export function cardFields(card: DeliveredCard): Map<string, string> {
  return new Map((JSON.parse(card.params.fields ?? '[]') as { label: string; value: string }[]).map((f) => [f.label, f.value]));
}

/** The card's title, lines and footer as one text. */
export function cardText(card: DeliveredCard): string {
  return [card.params.title, ...(JSON.parse(card.params.lines ?? '[]') as string[]), card.params.footer].filter(Boolean).join('\n');
}

/**
 * The bot's flows with an approval service on the DingTalk approval notifier, built in the test as the
 * platform registry builds it (for tests that decide requests on cards without the workers).
 */
export function approvalFlows(harness: () => DingTalkHarness): NonNullable<DingTalkOverrides['flows']> {
  return async (s, cards) => {
    const h = harness();
    const requests = new MongoRequestStore(s.conn);
    await requests.ensureIndexes();
    const approvals = new ApprovalService({
      engine: s.engine, customers: s.customers, requests, grants: s.grants, directory: s.directory, recorder: s.recorder, clock: s.clock,
      notifier: dingtalkChat(cards, h.logger, undefined, s.lookup).approvals!, settings: approvalSettingsOf(loadPolicy(h.config.policyDir)),
      platform: 'dingtalk',
    });
    return { approvals };
  };
}
