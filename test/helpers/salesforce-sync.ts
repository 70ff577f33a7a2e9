// A sync of the fake Salesforce org (test/fakes/salesforce.ts) through the real connector, jsforce, the
// runner and the stores, on this test's database. The clock runs in real time from a chosen start (so
// the rate budget's waits pass) and can jump forward (getDeleted's 15-day window).
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Employee } from '../../bot/core/domain.ts';
import { createLogger } from '../../bot/logger.ts';
import { FieldCipher } from '../../bot/store/crypto.ts';
import { CustomerStore } from '../../bot/store/customer-store.ts';
import { EmployeeStore } from '../../bot/store/employee-store.ts';
import { StoreCustomerRevoker } from '../../bot/sync/customer-revoker.ts';
import { parseMapping } from '../../bot/sync/mapping.ts';
import { RateBudget } from '../../bot/sync/rate-budget.ts';
import { SyncRunner } from '../../bot/sync/runner.ts';
import { salesforceConnector } from '../../bot/sync/salesforce/connector.ts';
import { FakeSalesforce, type FakeSalesforceOptions } from '../fakes/salesforce.ts';
import { custosArgs, root } from './run-custos.ts';
import { dropPrefix, testDatabase, uniqueName } from './services.ts';
import { RecordingAudit } from './sync-model-source.ts';
import { syncDatabase } from './sync-db.ts';

export const SF_FIXTURES = new URL('../fixtures/sync/salesforce/', import.meta.url);
export const sfMapping = parseMapping(readFileSync(new URL('salesforce.yaml', SF_FIXTURES), 'utf8'));

/** Real time from `start`, plus whatever `jump` added. */
export class RunningClock {
  private offset: number;
  constructor(start: Date) { this.offset = start.getTime() - Date.now(); }
  now(): Date { return new Date(Date.now() + this.offset); }
  jump(ms: number): void { this.offset += ms; }
}

export function employee(employeeId: string, email: string, region: Employee['region']): Employee {
  return {
    employeeId, email, name: email.split('@')[0]!, department: 'sales', roles: ['staff'], region, timezone: 'Asia/Shanghai',
    locale: 'en', status: 'active', external: false, chat: {},
  };
}

export const ANN = employee('E-0001', 'ann@example.com', 'north');
export const BO = employee('E-0002', 'bo@example.com', 'south');

/**
 * The connector's settings for the fake org. Bulk API 2.0 is off unless a test sets
 * CUSTOS_SYNC_SALESFORCE_BULK_THRESHOLD (test/sync-salesforce-bulk.test.ts): the other tests count the
 * SOQL requests of a backfill, which the threshold's COUNT() query would add to.
 */
export function sfEnv(fake: FakeSalesforce, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CUSTOS_SYNC_SALESFORCE_LOGIN_URL: fake.url, CUSTOS_SYNC_SALESFORCE_CLIENT_ID: fake.clientId,
    CUSTOS_SYNC_SALESFORCE_CLIENT_SECRET: fake.clientSecret, CUSTOS_SYNC_SALESFORCE_BATCH_SIZE: '200',
    CUSTOS_SYNC_SALESFORCE_REQUESTS_PER_SECOND: '1000', CUSTOS_SYNC_SALESFORCE_BULK_THRESHOLD: '0', ...extra,
  };
}

export async function salesforceSync(t: ExecutionContext, opts: { fake?: FakeSalesforceOptions; share?: number; env?: Record<string, string> } = {}) {
  // 2026-06-01 is a Monday; 02:00Z is 10:00 in Shanghai, inside the policy's working hours.
  const clock = new RunningClock(new Date('2026-06-01T02:00:00Z'));
  const { db, store, grants, requests } = await syncDatabase(t, 'sync-salesforce.test.ts');
  const employees = new EmployeeStore(db.conn);
  await employees.upsertMany([ANN, BO]);
  const cipher = new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.alloc(32, 21) }], blindIndexKey: Buffer.alloc(32, 22) });
  const customers = new CustomerStore(db.conn, cipher);
  const fake = new FakeSalesforce({ now: () => clock.now(), ...opts.fake });
  await fake.start();
  t.teardown(() => fake.close());
  const audit = new RecordingAudit();
  const connectorOf = () => salesforceConnector({
    source: 'salesforce', mapping: sfMapping, env: { ...sfEnv(fake), ...opts.env }, clock, logger: createLogger({ level: 'silent' }),
    budget: (perSecond) => new RateBudget({ source: 'salesforce', perSecond, share: opts.share ?? 1, clock }),
  });
  const deps = { customers, store, recorder: audit, clock, employees, revoker: new StoreCustomerRevoker(grants, requests) };
  /** A runner with a connector of its own: a fresh process, as after a restart. */
  const runnerOf = () => new SyncRunner(deps, connectorOf(), sfMapping);
  return { clock, db, conn: db.conn, store, grants, requests, employees, customers, cipher, fake, audit, runner: runnerOf(), runnerOf };
}

let counter = 0;
/** `n` accounts with distinct customer numbers, owned by Ann, in region CN-E. */
export function createAccounts(fake: FakeSalesforce, n: number, owner = ANN.email): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = ++counter;
    ids.push(fake.create({ Name: `Account ${k}`, AccountNumber: String(100000 + k), Phone: `138${String(k).padStart(8, '0')}`, Region__c: 'CN-E', Tier__c: 'B', ownerEmail: owner }));
  }
  return ids;
}

export const customerIdOf = (fake: FakeSalesforce, id: string) => `C-${fake.accounts.get(id)!.AccountNumber!.padStart(6, '0')}`;

/**
 * The world of a `custos sync run` / worker crash test: this test's database and queue prefix (both
 * dropped after it), the two owners, and a started fake org holding `accounts` accounts owned by ANN.
 */
export async function crashWorld(t: ExecutionContext, file: string, accounts: number) {
  const db = await testDatabase(file);
  t.teardown(db.drop);
  const prefix = uniqueName(file, 'prefix');
  t.teardown(() => dropPrefix(prefix));
  await new EmployeeStore(db.conn).upsertMany([ANN, BO]);
  const fake = new FakeSalesforce();
  await fake.start();
  t.teardown(() => fake.close());
  createAccounts(fake, accounts);
  return { db, prefix, fake };
}

/**
 * `custos sync run salesforce` as a real process, SIGKILLed 15 ms after the fake sees the request
 * `killAfter` picks (mid-read or mid-store of that page); resolves with how it ended and all it printed.
 */
export async function syncRunKilled(fake: FakeSalesforce, env: NodeJS.ProcessEnv, killAfter: (call: { path: string }) => boolean): Promise<{ signal: NodeJS.Signals | null; output: string }> {
  const child = spawn(process.execPath, custosArgs(['sync', 'run', 'salesforce']), { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  fake.onRequest = (c) => { if (killAfter(c)) setTimeout(() => child.kill('SIGKILL'), 15); };
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => resolve(s)));
  fake.onRequest = null;
  return { signal, output };
}
