// A whole playground for one test file: the demo company seeded into this file's database, the audit
// worker, and the real playground (same core, policy engine, queue and worker) on an ephemeral port.
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../bot/config.ts';
import type { StoredAuditRecord } from '../../bot/core/audit-event.ts';
import { createLogger, type Logger } from '../../bot/logger.ts';
import { startPlayground, type RunningPlayground } from '../../bot/playground/runtime.ts';
import { auditModels } from '../../bot/store/audit-model.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { EmployeeStore } from '../../bot/store/employee-store.ts';
import { seedDemo } from '../../bot/store/seed.ts';
import { startWorkers, type RunningWorkers } from '../../workers/main.ts';
import { dropPrefix, testDatabase, testEnv, uniqueName } from './services.ts';

/** A Tuesday, 10:30 in Shanghai: inside every demo employee's working hours. */
export const WORKDAY = Date.parse('2026-06-30T02:30:00Z');

export interface ApiReply { to: 'you' | 'channel'; kind: string; html: string }
export interface ApiAnswer { status: number; requestId: string; headerRequestId: string | null; command: string; replies: ApiReply[]; body: unknown }

export class PlaygroundHarness {
  readonly logLines: string[] = [];
  readonly logger: Logger;
  config!: Config;
  playground!: RunningPlayground;
  customers!: CustomerStore;
  directory!: EmployeeStore;
  prefix = '';
  private workers: RunningWorkers | undefined;
  private db!: Awaited<ReturnType<typeof testDatabase>>;
  readonly clock = (() => { const t0 = Date.now(); return { now: () => new Date(WORKDAY + (Date.now() - t0)) }; })();

  constructor(private readonly file: string, private readonly opts: { customers?: number; seed?: string; sweepMs?: number; extraEnv?: Record<string, string> } = {}) {
    this.logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => { this.logLines.push(c.toString()); cb(); } }) });
  }

  async start(): Promise<this> {
    this.db = await testDatabase(this.file);
    this.prefix = uniqueName(this.file, 'prefix');
    this.config = loadConfig(testEnv(this.db.name, this.prefix, {
      HTTP_PORT: '0', CUSTOS_SECURITY_CONTACT: '#security-desk', CUSTOS_LOCALE: 'zh-CN',
      CUSTOS_AUDIT_LOCK_MS: '2000', CUSTOS_AUDIT_STALLED_MS: '1000', CUSTOS_AUDIT_LEASE_MS: '1500',
      ...(this.opts.extraEnv ?? {}),
    }), { require: ['mongo', 'redis', 'crypto', 'audit'] });
    const cipher = new FieldCipher(this.config.crypto!);
    await seedDemo(this.db.conn, cipher, { customers: this.opts.customers ?? 150, seed: this.opts.seed ?? 'playground-tests' });
    this.customers = new CustomerStore(this.db.conn, cipher);
    this.directory = new EmployeeStore(this.db.conn);
    this.workers = await startWorkers(this.config, this.logger, this.clock);
    this.playground = await startPlayground(this.config, this.logger, { clock: this.clock, ...(this.opts.sweepMs ? { sweepMs: this.opts.sweepMs } : {}) });
    return this;
  }

  async close(): Promise<void> {
    await this.playground?.close().catch(() => undefined);
    await this.workers?.close().catch(() => undefined);
    await this.db?.drop();
    if (this.prefix) await dropPrefix(this.prefix);
  }

  get conn() { return this.db.conn; }

  url(path: string): string { return new URL(path, this.playground.url).href; }

  async api(path: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const res = await fetch(this.url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const json = await res.json() as { requestId?: string; command?: string; replies?: ApiReply[] };
    return { status: res.status, requestId: json.requestId ?? '', headerRequestId: res.headers.get('x-request-id'), command: json.command ?? '', replies: json.replies ?? [], body: json };
  }

  say(employeeId: string, text: string, extra: Record<string, unknown> = {}): Promise<ApiAnswer> {
    return this.api('/playground/api/message', { employeeId, text, ...extra });
  }

  click(employeeId: string, action: string, value: string, extra: Record<string, unknown> = {}): Promise<ApiAnswer> {
    return this.api('/playground/api/action', { employeeId, action, value, ...extra });
  }

  /** Audit records with this correlation id, once at least `min` are stored by the worker. */
  async auditFor(correlationId: string, min = 1, timeoutMs = 60_000): Promise<StoredAuditRecord[]> {
    const { events } = await auditModels(this.db.conn);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await events.find({ correlationId }).sort({ seq: 1 }).lean<StoredAuditRecord[]>();
      if (found.length >= min) return found;
      if (Date.now() > deadline) throw new Error(`only ${found.length} audit records for ${correlationId}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The visible text of an HTML fragment (tags dropped, entities decoded), for asserting what a user reads. */
export function textOf(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
}
