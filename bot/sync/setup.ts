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
import { StoreCustomerRevoker } from './customer-revoker.ts';
import { loadMapping, type SyncMapping } from './mapping.ts';
import { PushOnlyConnector } from './push-connector.ts';
import { pushRoutes } from './push-route.ts';
import { SyncRunner } from './runner.ts';
import { erasedTombstones, markRecreated } from '../store/erasure.ts';
import { SyncStore } from './sync-store.ts';
import type { Connector } from './types.ts';
import type { Route } from '../http/server.ts';

/** Connectors by source name; a new CRM adds one line here and nothing else in the framework. */
export type ConnectorFactory = (source: string, mapping: SyncMapping) => Connector;
export const CONNECTORS: Record<string, ConnectorFactory> = {};

export interface SyncSetup { store: SyncStore; runners: Map<string, SyncRunner>; routes: Route[] }

export interface SyncSetupDeps { conn: Connection; cipher: FieldCipher; recorder: AuditRecorder; clock: Clock; logger: Logger; connectors?: Record<string, ConnectorFactory> }

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
    revoker: new StoreCustomerRevoker(new MongoGrantStore(deps.conn), new MongoRequestStore(deps.conn)),
  };
  const runners = new Map<string, SyncRunner>();
  const missing: string[] = [];
  for (const [source, mapping] of mappings) {
    const factory = factories[source];
    if (!factory && !config.pushSecrets.has(source)) { missing.push(source); continue; }
    runners.set(source, new SyncRunner(syncDeps, factory ? factory(source, mapping) : new PushOnlyConnector(source), mapping));
  }
  if (missing.length) {
    throw new CustosError(ErrorCode.ConfigInvalid, `sync source(s) ${missing.join(', ')} have no connector; give each a push secret (CUSTOS_SYNC_PUSH_SECRET_<SOURCE>) so its system can push to /sync/v1/<source>/records`, { sources: missing });
  }
  const routes = pushRoutes([...config.pushSecrets].map(([source, secret]) => ({ source, secret, runner: runners.get(source)! })), { store, clock: deps.clock, logger: deps.logger });
  return { store, runners, routes };
}
