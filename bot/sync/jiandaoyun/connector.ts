// The 简道云 (Jiandaoyun) connector on the v5 open API (documents followed: 开发指南 hc.jiandaoyun.com/open/11261,
// 查询多条数据 /open/14220 (v5, 2022-10-28), 表单字段查询 V5 /open/14216, 数据推送 /open/11507).
//   readChanges   one data/list page of the current updateTime window (see cursor.ts for why a window)
//   readByIds     one data/list probe per id: `data_id` = the id just before it, `limit` 1 — the list is
//                 ordered by id, so the first record answered is the record itself or proof it is gone
//                 (data/get's answer for a deleted record has no documented error code; guessing one
//                 could turn a transient error into a deletion)
//   listLiveIds   data/list over the whole form, `_id` only, 100 a page
//   describeFields  widget/list: the form's fields and system fields
//   verifyWebhook   数据推送 signature and replay window (webhook.ts); the framework claims delivery ids
// Every call goes through the rate budget (30 requests/s, custos's share of it). The fields requested
// are only the ones the mapping reads, so nothing else of a record crosses the wire.
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { Clock } from '../../core/ports.ts';
import type { SyncMapping } from '../mapping.ts';
import type { RateBudget } from '../rate-budget.ts';
import type { ChangePage, Connector, SourceField, SourceRecord, WebhookRequest, WebhookResult } from '../types.ts';
import { JDY_PAGE_LIMIT, JdyClient, type JdyRecord } from './client.ts';
import type { JdyConfig } from './config.ts';
import { decodeJdyCursor, encodeJdyCursor } from './cursor.ts';
import { verifyJdyWebhook } from './webhook.ts';

export const JDY_RATE_PER_SECOND = 30;
/** How far behind custos's clock a window ends: covers clock skew with 简道云 and writes still in flight. */
export const JDY_WINDOW_MARGIN_MS = 60_000;

/** The top-level record fields the mapping reads (nested paths such as `_widget_1.username` need their root). */
export function mappedFields(mapping: SyncMapping): string[] {
  const paths = [mapping.customerId.from, mapping.owner.from, ...Object.values(mapping.fields).map((f) => f.from)];
  return [...new Set(['_id', 'updateTime', ...paths.map((p) => p.split('.')[0]!)])];
}

/** The 24-hex id just before `id`, or null for the very first possible id. */
export function previousId(id: string): string | null {
  const n = BigInt(`0x${id}`);
  return n === 0n ? null : (n - 1n).toString(16).padStart(24, '0');
}

export class JiandaoyunConnector implements Connector {
  readonly verifyWebhook?: (req: WebhookRequest, now: Date) => Promise<WebhookResult>;
  private readonly client: JdyClient;
  private readonly fields: string[];

  constructor(readonly source: string, config: JdyConfig, mapping: SyncMapping, private readonly clock: Clock, budget: RateBudget, fetchImpl?: typeof fetch) {
    this.client = new JdyClient({ source, ...config, budget, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
    this.fields = mappedFields(mapping);
    const secret = config.webhookSecret;
    if (secret) {
      // Delivery ids are claimed by the framework (it owns the database), so the verifier claims nothing here.
      this.verifyWebhook = (req, now) => verifyJdyWebhook(secret, { query: req.query ?? new URLSearchParams(), headers: req.headers, body: req.body }, now, async () => true);
    }
  }

  async readChanges(cursor: string | null): Promise<ChangePage> {
    const c = decodeJdyCursor(cursor);
    if (c === 'invalid') throw new CustosError(ErrorCode.SyncSourceFailed, `sync of ${this.source}: the stored cursor is not a 简道云 cursor; run \`custos sync run ${this.source} --full\``, { source: this.source });
    const to = c.to ?? new Date(this.clock.now().getTime() - JDY_WINDOW_MARGIN_MS).toISOString();
    if (to <= c.from) return { changes: [], nextCursor: cursor, done: true }; // the next window has not opened yet
    const records = await this.client.list({
      ...(c.lastId ? { dataId: c.lastId } : {}), limit: JDY_PAGE_LIMIT, fields: this.fields,
      filter: { rel: 'and', cond: [{ field: 'updateTime', type: 'datetime', method: 'range', value: [c.from, to] }] },
    });
    const changes = records.map((r) => ({ op: 'upsert' as const, sourceId: r._id, fields: r as Record<string, unknown> }));
    if (records.length < JDY_PAGE_LIMIT) return { changes, nextCursor: encodeJdyCursor({ from: to, to: null, lastId: null }), done: true };
    return { changes, nextCursor: encodeJdyCursor({ from: c.from, to, lastId: records.at(-1)!._id }), done: false };
  }

  async readByIds(sourceIds: readonly string[]): Promise<SourceRecord[]> {
    const out: SourceRecord[] = [];
    for (const id of sourceIds) {
      if (!/^[0-9a-f]{24}$/.test(id)) continue; // not a 简道云 data id: no such record
      const before = previousId(id);
      const [first] = await this.client.list({ ...(before ? { dataId: before } : {}), limit: 1, fields: this.fields });
      if (first?._id === id) out.push({ sourceId: id, fields: first as JdyRecord });
    }
    return out;
  }

  async *listLiveIds(): AsyncIterable<string[]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.client.list({ ...(after ? { dataId: after } : {}), limit: JDY_PAGE_LIMIT, fields: ['_id'] });
      if (page.length) yield page.map((r) => r._id);
      if (page.length < JDY_PAGE_LIMIT) return;
      after = page.at(-1)!._id;
    }
  }

  async describeFields(): Promise<SourceField[]> {
    const w = await this.client.widgets();
    return [
      ...w.widgets.map((x) => ({ name: x.name, type: x.type })),
      ...(w.sysWidgets ?? []).map((x) => ({ name: x.name, type: x.type ?? 'system' })),
      { name: '_id', type: 'system' },
    ];
  }
}
