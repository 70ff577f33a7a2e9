// A whole Lark bot for one test file: the demo company seeded into this file's database, every demo
// employee bound to a Lark open_id (except the ones a test wants unbound), the fake Lark Open API, the
// audit worker, and the real bot (our verifying receiver + the SDK's EventDispatcher + the real SDK
// client) on an ephemeral port. Pushes are encrypted and signed exactly as Lark does and sent over HTTP.
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../bot/config.ts';
import type { Employee } from '../../bot/core/domain.ts';
import { createLogger, type Logger } from '../../bot/logger.ts';
import { startLarkBot, type LarkOverrides, type RunningLarkBot } from '../../bot/lark/runtime.ts';
import type { CustomerStore } from '../../bot/store/customer-store.ts';
import { demoEmployeeList, type DemoEmployeeKey, demoEmployees } from '../../bot/store/demo-company.ts';
import type { EmployeeStore } from '../../bot/store/employee-store.ts';
import { startWorkers, type RunningWorkers } from '../../workers/main.ts';
import { FakeLarkApi, type FakeLarkChat, type SentMessage } from '../fakes/lark-api.ts';
import { closeHarness, seedBoundCompany } from './bound-company.ts';
import { testDatabase, testEnv, uniqueName } from './services.ts';
import { cardAction, ENCRYPT_KEY, messageEvent, post, signed, VERIFICATION_TOKEN } from './lark-sign.ts';

export const PUBLIC_GROUP = 'oc_public';
export const PRIVATE_GROUP = 'oc_private';

/** A Tuesday, 10:30 in Shanghai: inside every demo employee's working hours. */
const WORKDAY = Date.parse('2026-06-30T02:30:00Z');

export function openIdOf(e: Employee): string {
  return `ou_${e.employeeId.replace(/\D/g, '')}`;
}

export interface LarkHarnessOptions {
  customers?: number;
  unbound?: DemoEmployeeKey[];
  overrides?: LarkOverrides;
  publicMembers?: DemoEmployeeKey[];
  privateMembers?: DemoEmployeeKey[];
  extraChats?: FakeLarkChat[];
  extraEnv?: Record<string, string>;
  seed?: string;
  /** The bot's and the workers' clock (default: a workday morning running in real time). */
  clock?: { now(): Date };
  /** The app id the fake Lark knows (ws mode needs a real-looking `cli_` + 16 hex digits). */
  appId?: string;
  /** Level of the captured log (`logLines`); default info. */
  logLevel?: string;
}

export class LarkHarness {
  readonly fake: FakeLarkApi;
  readonly employees = demoEmployees();
  readonly logLines: string[] = [];
  readonly logger: Logger;
  readonly handlerCalls: string[] = [];
  config!: Config;
  /** The environment the bot was configured from (another replica, started as a process, uses it too). */
  env: NodeJS.ProcessEnv = {};
  bot!: RunningLarkBot;
  customers!: CustomerStore;
  directory!: EmployeeStore;
  private workers: RunningWorkers | undefined;
  private db!: Awaited<ReturnType<typeof testDatabase>>;
  prefix = '';
  readonly clock: { now(): Date };

  constructor(private readonly file: string, private readonly opts: LarkHarnessOptions = {}) {
    this.clock = opts.clock ?? (() => { const t0 = Date.now(); return { now: () => new Date(WORKDAY + (Date.now() - t0)) }; })();
    this.logger = createLogger({ level: opts.logLevel ?? 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => { this.logLines.push(c.toString()); cb(); } }) });
    const list = demoEmployeeList();
    const members = (keys: DemoEmployeeKey[] | undefined) => (keys ?? []).map((k) => openIdOf(this.employees[k]));
    this.fake = new FakeLarkApi({
      ...(opts.appId ? { appId: opts.appId } : {}),
      users: list.map((e) => ({ openId: openIdOf(e), email: e.email })),
      chats: [
        ...list.map((e) => ({ chatId: dmOf(e), mode: 'p2p' as const, members: [openIdOf(e)] })),
        { chatId: PUBLIC_GROUP, mode: 'group', type: 'public', members: members(opts.publicMembers) },
        { chatId: PRIVATE_GROUP, mode: 'group', type: 'private', members: members(opts.privateMembers) },
        ...(opts.extraChats ?? []),
      ],
    });
  }

  async start(): Promise<this> {
    this.db = await testDatabase(this.file);
    this.prefix = uniqueName(this.file, 'prefix');
    await this.fake.start();
    this.env = testEnv(this.db.name, this.prefix, {
      LARK_APP_ID: this.fake.appId, LARK_APP_SECRET: this.fake.appSecret, LARK_ENCRYPT_KEY: ENCRYPT_KEY,
      LARK_VERIFICATION_TOKEN: VERIFICATION_TOKEN, LARK_DOMAIN: this.fake.domain, LARK_HTTP_PORT: '0',
      CUSTOS_SECURITY_CONTACT: '#security-desk', CUSTOS_LOCALE: 'zh-CN',
      CUSTOS_AUDIT_LOCK_MS: '2000', CUSTOS_AUDIT_STALLED_MS: '1000', CUSTOS_AUDIT_LEASE_MS: '1500',
      ...(this.opts.extraEnv ?? {}),
    });
    this.config = loadConfig(this.env, { require: ['mongo', 'redis', 'crypto', 'audit', 'lark'] });
    ({ customers: this.customers, directory: this.directory } = await seedBoundCompany(this.db.conn, this.config, { customers: this.opts.customers ?? 150, seed: this.opts.seed ?? 'lark-tests' }, {
      platform: 'lark', idOf: openIdOf, employees: this.employees, ...(this.opts.unbound ? { unbound: this.opts.unbound } : {}),
    }));
    this.workers = await startWorkers(this.config, this.logger, this.clock);
    this.bot = await startLarkBot(this.config, this.logger, {
      clock: this.clock, onHandlerCall: (type) => this.handlerCalls.push(type), ...this.opts.overrides,
    });
    return this;
  }

  async close(): Promise<void> {
    await closeHarness({ bot: this.bot, workers: this.workers, fake: this.fake, db: this.db, prefix: this.prefix });
  }

  get eventsUrl(): string { return `${this.bot.url}/lark/events`; }
  get conn() { return this.db.conn; }
  openId(key: DemoEmployeeKey): string { return openIdOf(this.employees[key]); }
  dm(key: DemoEmployeeKey): string { return dmOf(this.employees[key]); }

  /** Sends an encrypted, signed push; resolves with the HTTP status and body. */
  async push(payload: Record<string, unknown>, opts: Parameters<typeof signed>[1] = {}): Promise<{ status: number; text: string }> {
    return post(this.eventsUrl, signed(payload, opts));
  }

  /** `text` typed by `key` in their DM (or @mentioning the bot in a group); resolves with the reply card. */
  async ask(key: DemoEmployeeKey, text: string, group?: string): Promise<SentMessage> {
    const before = this.fake.sent().length;
    const res = await this.push(messageEvent({ openId: this.openId(key), chatId: group ?? this.dm(key), group: group !== undefined, text, mentionBot: group !== undefined }));
    if (res.status !== 200) throw new Error(`push answered ${res.status}`);
    const to = group ? this.openId(key) : this.dm(key);
    return this.fake.waitFor((m) => m.receiveId === to && this.fake.sent().indexOf(m) >= before);
  }

  /** Clicks a card button as `key`; resolves with the callback's answer (toast and card). */
  async click(key: DemoEmployeeKey, message: SentMessage, value: Record<string, string>, formValue?: Record<string, unknown>): Promise<{ status: number; answer: { toast?: { type: string; content: string }; card?: { type: string; data: Record<string, unknown> } } }> {
    const chatId = message.receiveIdType === 'chat_id' ? message.receiveId : this.dm(key);
    const res = await this.push(cardAction({ openId: this.openId(key), value, messageId: message.messageId, chatId, ...(formValue ? { formValue } : {}) }));
    return { status: res.status, answer: res.text ? JSON.parse(res.text) as never : {} };
  }

  async auditRecords(filter: Record<string, unknown>, atLeast = 1, timeoutMs = 60_000): Promise<Record<string, unknown>[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const docs = await this.db.conn.collection('audit_events').find(filter).sort({ seq: 1 }).toArray();
      if (docs.length >= atLeast || Date.now() > until) return docs as Record<string, unknown>[];
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async allAuditRecords(settleMs = 0): Promise<Record<string, unknown>[]> {
    if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
    return (await this.db.conn.collection('audit_events').find({}).sort({ seq: 1 }).toArray()) as Record<string, unknown>[];
  }
}

function dmOf(e: Employee): string {
  return `oc_dm_${e.employeeId.replace(/\D/g, '')}`;
}
