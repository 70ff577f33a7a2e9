// A whole WeCom bot for one test file: the demo company seeded into this file's database, every demo
// employee bound to a WeCom userid (except those a test wants unbound), the fake WeCom API, the audit
// worker, and the real bot (our verifying receiver, the WeCom API client at WECOM_API_URL) on an
// ephemeral port. Callbacks are encrypted and signed exactly as WeCom does and sent over HTTP.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../bot/config.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { createLogger, type Logger } from '../../bot/logger.ts';
import type { CustomerStore } from '../../bot/store/customer-store.ts';
import { demoEmployeeList, type DemoEmployeeKey, demoEmployees } from '../../bot/store/demo-company.ts';
import type { EmployeeStore } from '../../bot/store/employee-store.ts';
import { loadWeComConfig } from '../../bot/wecom/config.ts';
import { startWeComBot, type RunningWeComBot, type WeComOverrides } from '../../bot/wecom/runtime.ts';
import { startWorkers, type RunningWorkers } from '../../workers/main.ts';
import { FakeWeComApi, WeComCallbackDriver, type WeComMessage } from '../fakes/wecom.ts';
import { closeHarness, seedBoundCompany } from './bound-company.ts';
import { testDatabase, testEnv, uniqueName } from './services.ts';

/** A Tuesday, 10:30 in Shanghai: inside every demo employee's working hours. */
const WORKDAY = Date.parse('2026-06-30T02:30:00Z');
export const WECOM_TOKEN = 'custosWeComToken42';

export function userIdOf(e: Employee): string {
  return `u${e.employeeId.replace(/\D/g, '')}`;
}

export class WeComHarness {
  readonly fake: FakeWeComApi;
  readonly employees = demoEmployees();
  readonly logLines: string[] = [];
  readonly handlerCalls: string[] = [];
  readonly logger: Logger;
  readonly aesKey = randomBytes(32).toString('base64').slice(0, 43);
  readonly clock: { now(): Date };
  config!: Config;
  /** The deployment's environment (WeCom only, this file's database, keys and queue prefix): a `custos` command run beside the bot gets it. */
  env: NodeJS.ProcessEnv = {};
  bot!: RunningWeComBot;
  driver!: WeComCallbackDriver;
  customers!: CustomerStore;
  directory!: EmployeeStore;
  private workers: RunningWorkers | undefined;
  private db!: Awaited<ReturnType<typeof testDatabase>>;
  /** The queue prefix of this harness's bot and workers (a test reaches their queues with it). */
  prefix = '';
  private msgId = 7_000_000_000_000_000;

  /**
   * `processEnv`: WECOM_* also go into this test process's environment, as under `custos start`: the
   * workers (sweeper, export delivery) and the bot's routing find the configured platforms there.
   * `seed`: the demo customers' seed (the shared scenarios use one seed on every platform).
   */
  constructor(private readonly file: string, private readonly opts: { customers?: number; seed?: string; unbound?: DemoEmployeeKey[]; overrides?: WeComOverrides; extraEnv?: Record<string, string>; clock?: { now(): Date }; processEnv?: boolean } = {}) {
    this.clock = opts.clock ?? (() => { const t0 = Date.now(); return { now: () => new Date(WORKDAY + (Date.now() - t0)) }; })();
    this.logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => { this.logLines.push(c.toString()); cb(); } }) });
    this.fake = new FakeWeComApi(demoEmployeeList().map((e) => ({ userid: userIdOf(e), email: e.email })));
  }

  async start(): Promise<this> {
    this.db = await testDatabase(this.file);
    this.prefix = uniqueName(this.file, 'prefix');
    await this.fake.start();
    const env = this.env = testEnv(this.db.name, this.prefix, {
      WECOM_CORP_ID: this.fake.corpId, WECOM_AGENT_ID: String(this.fake.agentId), WECOM_SECRET: this.fake.secret,
      WECOM_TOKEN, WECOM_ENCODING_AES_KEY: this.aesKey, WECOM_API_URL: this.fake.url, WECOM_HTTP_PORT: '0',
      CUSTOS_SECURITY_CONTACT: '#security-desk', CUSTOS_LOCALE: 'zh-CN',
      CUSTOS_AUDIT_LOCK_MS: '2000', CUSTOS_AUDIT_STALLED_MS: '1000', CUSTOS_AUDIT_LEASE_MS: '1500',
      ...this.opts.extraEnv,
    });
    this.config = loadConfig(env, { require: ['mongo', 'redis', 'crypto', 'audit'] });
    if (this.opts.processEnv) for (const [k, v] of Object.entries(env)) if (k.startsWith('WECOM_') && v !== undefined) process.env[k] = v;
    ({ customers: this.customers, directory: this.directory } = await seedBoundCompany(this.db.conn, this.config, { customers: this.opts.customers ?? 120, seed: this.opts.seed ?? 'wecom-tests' }, {
      platform: 'wecom', idOf: userIdOf, employees: this.employees, ...(this.opts.unbound ? { unbound: this.opts.unbound } : {}),
    }));
    this.workers = await startWorkers(this.config, this.logger, this.clock);
    this.bot = await startWeComBot(this.config, loadWeComConfig(env), this.logger, { clock: this.clock, onHandlerCall: (k) => this.handlerCalls.push(k), ...this.opts.overrides });
    this.driver = new WeComCallbackDriver({ url: `${this.bot.url}/wecom/callback`, token: WECOM_TOKEN, aesKey: this.aesKey, corpId: this.fake.corpId, agentId: this.fake.agentId });
    return this;
  }

  async close(): Promise<void> {
    await closeHarness({ bot: this.bot, workers: this.workers, fake: this.fake, db: this.db, prefix: this.prefix });
  }

  get conn() { return this.db.conn; }
  userId(key: DemoEmployeeKey): string { return userIdOf(this.employees[key]); }

  /** A text message's fields as WeCom delivers it. */
  textFields(userId: string, text: string): Record<string, string> {
    return { FromUserName: userId, CreateTime: String(Math.floor(Date.now() / 1000)), MsgType: 'text', Content: text, MsgId: String(++this.msgId) };
  }

  /** `text` typed by `userId` to the app; resolves with the text of the reply sent back after it. */
  async ask(userId: string, text: string): Promise<WeComMessage> {
    const before = this.fake.messages.length;
    const res = await this.driver.send(this.textFields(userId, text));
    if (res.status !== 200) throw new Error(`callback answered ${res.status}`);
    // Every reply starts with its text (a card with its buttons follows): waiting for the text keeps the
    // previous reply's card, which may arrive only now, from being taken for this one.
    return this.fake.waitFor((m) => m.touser === userId && m.msgtype === 'text' && this.fake.messages.indexOf(m) >= before);
  }

  /** Like `ask`, for a reply with buttons: its text and the card sent right after it. */
  async askForCard(userId: string, text: string): Promise<{ text: WeComMessage; card: WeComMessage }> {
    const reply = await this.ask(userId, text);
    const after = this.fake.messages.indexOf(reply);
    const card = await this.fake.waitFor((m) => m.touser === userId && m.msgtype === 'template_card' && this.fake.messages.indexOf(m) > after);
    return { text: reply, card };
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
