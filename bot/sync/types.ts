// The connector port: what a CRM connector must offer the sync framework. Connectors only talk to their
// source; they never touch the database — storing, cursors, deletions and audit are the framework's
// (bot/sync/runner.ts), so a new connector (Zoho, 金蝶云星空, 纷享销客) fits without changing it.

/** One change in the source, with the source's own record id (never the custos customer id). */
export type SourceChange =
  | { op: 'upsert'; sourceId: string; fields: Record<string, unknown> }
  | { op: 'delete'; sourceId: string };

/** One page of changes after `cursor`; `nextCursor` is where the next page starts. */
export interface ChangePage {
  changes: SourceChange[];
  nextCursor: string | null;
  /** No further page right now (the caller stores `nextCursor` and stops). */
  done: boolean;
  /**
   * The source cannot list every change since the cursor (Salesforce's deletion log no longer reaches
   * back to it): the runner reconciles before it stores `nextCursor`, so a crash reconciles again.
   */
  reconcile?: boolean;
}

export interface SourceRecord { sourceId: string; fields: Record<string, unknown> }

/** A verified webhook: the source ids it says changed (the framework re-reads them, never trusts the body's values). */
export type WebhookResult =
  | { ok: true; deliveryId: string; sourceIds: string[] }
  | { ok: false; reason: 'signature' | 'stale' | 'duplicate' | 'malformed' };

/** One field of the source's record type, as the source describes it (for `custos sync check`). */
export interface SourceField { name: string; type: string }

/**
 * What one answer of the source said about its quota (rate budget input, bot/sync/rate-budget.ts):
 * `used`/`limit` from a usage header (Salesforce `Sforce-Limit-Info: api-usage=25/15000`), `retryAfterMs`
 * from a 429's `Retry-After`.
 */
export interface QuotaSignal { used?: number; limit?: number; retryAfterMs?: number }

/** A webhook as received: raw body (verified before parsing), headers, and the query string (简道云 signs `timestamp` and `nonce` given there). */
export interface WebhookRequest { headers: Record<string, string | string[] | undefined>; body: Buffer; query?: URLSearchParams }

export interface Connector {
  readonly source: string;
  /** Changes after `cursor` (null = from the very beginning: a backfill), one page at a time. */
  readChanges(cursor: string | null): Promise<ChangePage>;
  /** The current records with these ids; ids absent from the answer no longer exist in the source. */
  readByIds(sourceIds: readonly string[]): Promise<SourceRecord[]>;
  /** Every live record id, in pages (reconciliation diffs them against custos's ids). */
  listLiveIds(): AsyncIterable<string[]>;
  /** Verifies a webhook BEFORE its body is parsed; absent for sources without webhooks. */
  verifyWebhook?(req: WebhookRequest, now: Date): Promise<WebhookResult>;
  /** The source's fields for the mapped object (`custos sync check` compares the mapping with them). */
  describeFields?(): Promise<SourceField[]>;
}
