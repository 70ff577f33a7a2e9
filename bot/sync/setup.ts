// Builds each configured source's runner: its mapping file (<CUSTOS_SYNC_MAPPINGS>/<source>.yaml, every
// file's problems reported at once), its connector, and the push route when it has a push secret. A
// mapping error stops the start with a message saying what to fix. Connectors are chosen by source
// name; a source with no connector of its own must be a push source.
import path from 'node:path';
import type { Connection } from 'mongoose';
import type { SyncConfig } from '../config-sync.ts';
import type { AuditRecorder } from '../core/audit.ts';
import { CustosError, ErrorCode, isCustosError } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { FieldCipher } from '../store/crypto.ts';
import { CustomerStore } from '../store/customer-store.ts';
import { EmployeeStore } from '../store/employee-store.ts';
import { MongoGrantStore } from '../store/grant-store.ts';
import { MongoRequestStore } from '../store/request-store.ts';
import { StoreCustomerRevoker, type PendingOnCustomerCanceller } from './customer-revoker.ts';
import { loadMapping, type SyncMapping } from './mapping.ts';
import { PushOnlyConnector } from './push-connector.ts';
import { RateBudget } from './rate-budget.ts';
import { salesforceConnector } from './salesforce/connector.ts';
import { pushRoutes } from './push-route.ts';
import { jiandaoyunConnector } from './jiandaoyun/index.ts';
import { kingdeeConnector } from './kingdee/index.ts';
import { shareCrmConnector } from './sharecrm/index.ts';
import { zohoConnector } from './zoho/index.ts';
import { webhookRoutes, type WebhookSource } from './webhook-route.ts';
import { SyncRunner } from './runner.ts';
import { erasedTombstones, markRecreated } from '../store/erasure.ts';
import { SyncStore } from './sync-store.ts';
import type { Connector } from './types.ts';
import type { Route } from '../http/server.ts';

/**
 * What a connector is built from. It reads its own settings from `env` (named `CUSTOS_SYNC_<SOURCE>_…`,
 * parsed with zod, every problem thrown at once as ConfigInvalid) and calls its source through `budget`.
 */
export interface ConnectorContext {
  source: string;
  mapping: SyncMapping;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  logger: Logger;
  budget: (perSecond: number) => RateBudget;
}

/** Connectors by name (the mapping's `connector`, else the source's name); a new CRM adds one line here. */
export type ConnectorFactory = (ctx: ConnectorContext) => Connector;
export const CONNECTORS: Record<string, ConnectorFactory> = {
  jiandaoyun: jiandaoyunConnector,
  kingdee: kingdeeConnector,
  salesforce: salesforceConnector,
  sharecrm: (ctx) => shareCrmConnector(ctx),
  zoho: (ctx) => zohoConnector(ctx),
};

export interface SyncSetup {
  store: SyncStore;
  runners: Map<string, SyncRunner>;
  /** Sources read through a connector (scheduled by the sync worker); the rest are push-only. */
  pulled: Set<string>;
  routes: Route[];
}

export interface SyncSetupDeps {
  conn: Connection; cipher: FieldCipher; recorder: AuditRecorder; clock: Clock; logger: Logger; env?: NodeJS.ProcessEnv; connectors?: Record<string, ConnectorFactory>;
  /** Cancels pending requests on a deleted customer with card updates (the approval service); else the store alone. */
  cancelPending?: PendingOnCustomerCanceller;
}

async function loadMappings(config: SyncConfig): Promise<Map<string, SyncMapping>> {
  const problems: string[] = [];
  const out = new Map<string, SyncMapping>();
  for (const source of config.sources) {
    const file = path.join(config.mappingsDir, `${source}.yaml`);
    try {
      const m = await loadMapping(file);
      if (m.source !== source) problems.push(`${file}: source is "${m.source}" but the file is for "${source}"; make them equal`);
      else out.set(source, m);
    } catch (err) {
      problems.push(isCustosError(err) ? err.message : `${file} cannot be read; create it (see README "CRM sync") or fix CUSTOS_SYNC_MAPPINGS`);
    }
  }
  if (problems.length) throw new CustosError(ErrorCode.SyncMappingInvalid, `sync mappings (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  return out;
}

export async function buildSync(config: SyncConfig, deps: SyncSetupDeps): Promise<SyncSetup> {
  const mappings = await loadMappings(config);
  const store = new SyncStore(deps.conn);
  await store.ensureIndexes();
  const factories = deps.connectors ?? CONNECTORS;
  const syncDeps = {
    customers: new CustomerStore(deps.conn, deps.cipher), store, recorder: deps.recorder, clock: deps.clock,
    employees: new EmployeeStore(deps.conn),
    erasures: { erased: (ids: readonly string[]) => erasedTombstones(deps.conn, ids), recreated: (id: string, record: string, at: Date) => markRecreated(deps.conn, id, record, at) },
    revoker: new StoreCustomerRevoker(new MongoGrantStore(deps.conn), new MongoRequestStore(deps.conn), deps.cancelPending),
  };
  const runners = new Map<string, SyncRunner>();
  const pulled = new Set<string>();
  const missing: string[] = [];
  const hooked: WebhookSource[] = [];
  for (const [source, mapping] of mappings) {
    const factory = factories[mapping.connector ?? source];
    if (!factory && !config.pushSecrets.has(source)) { missing.push(source); continue; }
    const ctx: ConnectorContext = {
      source, mapping, env: deps.env ?? process.env, clock: deps.clock, logger: deps.logger.child({ source }),
      budget: (perSecond) => new RateBudget({ source, perSecond, share: config.quotaShare, clock: deps.clock }),
    };
    if (factory) pulled.add(source);
    const connector: Connector = factory ? factory(ctx) : new PushOnlyConnector(source);
    const runner = new SyncRunner(syncDeps, connector, mapping);
    runners.set(source, runner);
    if (connector.verifyWebhook) hooked.push({ source, connector, runner });
  }
  if (missing.length) {
    throw new CustosError(ErrorCode.ConfigInvalid, `sync source(s) ${missing.join(', ')} have no connector; give each a push secret (CUSTOS_SYNC_PUSH_SECRET_<SOURCE>) so its system can push to /sync/v1/<source>/records`, { sources: missing });
  }
  const routeDeps = { store, clock: deps.clock, logger: deps.logger, staleClaimMs: config.pushStaleSeconds * 1000 };
  const routes = [
    ...pushRoutes([...config.pushSecrets].map(([source, secret]) => ({ source, secret, runner: runners.get(source)! })), routeDeps),
    ...webhookRoutes(hooked, routeDeps),
  ];
  return { store, runners, pulled, routes };
}
