// The Zoho CRM connector's harness for the shared connector suite (test/helpers/connector-suite.ts):
// the fake org (test/fakes/zoho.ts), its settings, and the CRM driven as its users do. The channel's
// notifications go to custos's webhook route as Zoho sends them (JSON with the channel's token).
import { readFileSync } from 'node:fs';
import { parseMapping } from '../../bot/sync/mapping.ts';
import { zohoConnector } from '../../bot/sync/zoho/index.ts';
import { FakeZoho } from '../fakes/zoho.ts';
import type { ConnectorHarness, Region, SuiteClock } from './connector-suite.ts';

export const zohoMapping = parseMapping(readFileSync(new URL('../fixtures/sync/zoho/zoho.yaml', import.meta.url), 'utf8'));
export const ZOHO_REGION: Record<Region, string> = { north: 'North China', east: 'East China', south: 'South China' };
export const CHANNEL_TOKEN = 'custos-channel-token-0123456789';
export const CHANNEL_ID = '1000000068001';

export function zohoEnv(fake: FakeZoho, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CUSTOS_SYNC_ZOHO_ACCOUNTS_URL: fake.url, CUSTOS_SYNC_ZOHO_CLIENT_ID: fake.opts.clientId, CUSTOS_SYNC_ZOHO_CLIENT_SECRET: fake.opts.clientSecret,
    CUSTOS_SYNC_ZOHO_REFRESH_TOKEN: fake.opts.refreshToken, CUSTOS_SYNC_ZOHO_PER_PAGE: '50', CUSTOS_SYNC_ZOHO_REQUESTS_PER_SECOND: '1000',
    CUSTOS_SYNC_ZOHO_NOTIFY_URL: 'https://custos.example.com/sync/v1/zoho/webhook', CUSTOS_SYNC_ZOHO_CHANNEL_ID: CHANNEL_ID,
    CUSTOS_SYNC_ZOHO_CHANNEL_TOKEN: CHANNEL_TOKEN, ...extra,
  };
}

export async function startFakeZoho(clock: SuiteClock, limits: { pageTokenLimit?: number; coqlOffsetLimit?: number } = {}): Promise<FakeZoho> {
  const fake = new FakeZoho({ clock, ...limits, clientId: '1000.FAKECLIENTID0123456789', clientSecret: 'fake-zoho-client-secret-0123456789', refreshToken: '1000.fake-refresh-token.0123456789' });
  await fake.start();
  return fake;
}

const OP = { create: 'insert', update: 'update', delete: 'delete' } as const;

export const zohoHarness: ConnectorHarness = {
  source: 'zoho', factory: (ctx) => zohoConnector(ctx), mapping: zohoMapping, pageSize: 50, deletionsInIncremental: true,
  async start(clock) {
    const fake = await startFakeZoho(clock);
    const forged = (ids: string[], change: (n: Record<string, unknown>) => void) => ({
      send: (url: string) => {
        const n = { server_time: clock.now().getTime(), query_params: {}, module: 'Accounts', resource_uri: `${fake.url}/crm/v8/Accounts`, ids, affected_fields: [], operation: 'update', channel_id: CHANNEL_ID, token: CHANNEL_TOKEN };
        change(n);
        return fake.deliver(url, JSON.stringify(n));
      },
    });
    return {
      env: zohoEnv(fake),
      create: (r) => fake.create({ Account_Name: r.name, Account_Number: String(r.number), Phone: r.phone, Region: ZOHO_REGION[r.region], ownerEmail: r.ownerEmail }),
      update: (id, p) => fake.update(id, { ...(p.name ? { Account_Name: p.name } : {}), ...(p.region ? { Region: ZOHO_REGION[p.region] } : {}), ...(p.phone ? { Phone: p.phone } : {}) }),
      moveOwner: (id, email) => fake.update(id, { ownerEmail: email }),
      remove: (id) => fake.remove(id),
      removeUnseen: (id) => { fake.remove(id); fake.forgetDeleted(id); },
      settle: () => clock.advance(120_000), // past the one-minute scan margin
      exhaustQuota: () => fake.exhaustCredits(),
      restoreQuota: () => fake.restoreCredits(),
      notification: (ids, op) => {
        const body = fake.notification(ids, OP[op]);
        return body === null ? null : { send: (url) => fake.deliver(url, body) };
      },
      forgeries: (ids) => [
        forged(ids, (n) => { n.token = 'a-guessed-token-0123456789abcd'; }),
        forged(ids, (n) => { delete n.token; }),
        forged(ids, (n) => { n.channel_id = '1000000068002'; }),
        forged(ids, (n) => { n.module = 'Leads'; }),
        forged(ids, (n) => { n.server_time = clock.now().getTime() - 3600_000; }),
      ],
      close: () => fake.close(),
    };
  },
};
