// Deletions that reach a chat bot's own HTTP server (bot/sync/http-routes.ts), as the Slack and the Lark
// deletion-card tests send them: the sync sources configured in this test file's environment (a push
// source `erp` and 简道云 with its fake), a signed push line deleting a linked record, and a 简道云
// data_remove webhook for a record already gone from the form. Each links the customer first, as a
// previous sync would have.
import { fileURLToPath } from 'node:url';
import type { Connection } from 'mongoose';
import { loadSyncConfig, type SyncConfig } from '../../bot/config-sync.ts';
import { PUSH_PATH } from '../../bot/sync/push-route.ts';
import { pushSignature } from '../../bot/sync/push-signature.ts';
import { SyncStore } from '../../bot/sync/sync-store.ts';
import { WEBHOOK_PATH } from '../../bot/sync/webhook-route.ts';
import { FakeJiandaoyun } from '../fakes/jiandaoyun.ts';

const PUSH_SECRET = 'erp-secret-0123456789abcdef0123456789abcdef';
const JDY = { apiKey: 'jdy-api-key-0123456789abcdef0123', appId: '59264073a2a60c0c08e20bfb', entryId: '59264073a2a60c0c08e20bfd', secret: 'jdy-webhook-secret-0123456789' };
/** What a cancelled request's card says once its customer was deleted in the CRM. */
export const DELETED_IN_CRM = /该客户已在 CRM 中删除，申请已于 .* 自动撤销，无需审批/;

export class BotDeletions {
  private readonly jdy: FakeJiandaoyun;

  constructor(private readonly clock: { now(): Date }) {
    this.jdy = new FakeJiandaoyun({ apiKey: JDY.apiKey, appId: JDY.appId, entryId: JDY.entryId, clock });
  }

  /** Starts the fake 简道云 and sets the sync sources in this file's process environment (before the bot starts). */
  async start(): Promise<void> {
    Object.assign(process.env, {
      CUSTOS_SYNC_SOURCES: 'erp,jiandaoyun', CUSTOS_SYNC_MAPPINGS: fileURLToPath(new URL('../fixtures/sync', import.meta.url)),
      CUSTOS_SYNC_PUSH_SECRET_ERP: PUSH_SECRET,
      CUSTOS_SYNC_JIANDAOYUN_API_URL: await this.jdy.start(), CUSTOS_SYNC_JIANDAOYUN_API_KEY: JDY.apiKey, CUSTOS_SYNC_JIANDAOYUN_APP_ID: JDY.appId,
      CUSTOS_SYNC_JIANDAOYUN_ENTRY_ID: JDY.entryId, CUSTOS_SYNC_JIANDAOYUN_WEBHOOK_SECRET: JDY.secret,
    });
  }

  close(): Promise<void> { return this.jdy.close(); }

  /** The push source `erp` alone, as settings parsed at start and handed to a bot (no 简道云, nothing in the environment). */
  static pushOnly(): SyncConfig {
    return loadSyncConfig({ CUSTOS_SYNC_SOURCES: 'erp', CUSTOS_SYNC_MAPPINGS: fileURLToPath(new URL('../fixtures/sync', import.meta.url)), CUSTOS_SYNC_PUSH_SECRET_ERP: PUSH_SECRET });
  }

  /** POSTs a signed `delete` line for `customerId`'s ERP record (ERP-77) to the bot's push route. */
  async push(botUrl: string, conn: Connection, customerId: string): Promise<{ status: number; results: unknown[] }> {
    await new SyncStore(conn).link('erp', [{ sourceId: 'ERP-77', customerId }]);
    const body = JSON.stringify({ op: 'delete', id: 'ERP-77' });
    const ts = String(Math.floor(this.clock.now().getTime() / 1000));
    const res = await fetch(`${botUrl}${PUSH_PATH('erp')}`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/x-ndjson', 'x-custos-request-timestamp': ts, 'x-custos-signature': pushSignature(PUSH_SECRET, ts, Buffer.from(body)), 'x-custos-batch-id': 'del-1' },
    });
    return { status: res.status, results: ((await res.json()) as { results: unknown[] }).results };
  }

  /** Delivers a signed 简道云 data_remove webhook for `customerId`'s record, already gone from the form (re-read: absent = deleted). */
  async webhook(botUrl: string, conn: Connection, customerId: string): Promise<{ status: number; body: unknown }> {
    const recordId = '64f0a1b2c3d4e5f6000000aa';
    await new SyncStore(conn).link('jiandaoyun', [{ sourceId: recordId, customerId }]);
    const res = await this.jdy.deliver(`${botUrl}${WEBHOOK_PATH('jiandaoyun')}`, JDY.secret, 'data_remove', recordId);
    return { status: res.status, body: await res.json() };
  }
}
