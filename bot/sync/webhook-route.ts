// `POST /sync/v1/SOURCE/webhook`: change notifications from a source with webhooks (简道云's 数据推送).
// Order: size limit; the connector verifies the signature and replay window on the raw bytes before
// anything is parsed (401, nothing claimed, stored or audited — as the push route, a refusal is logged
// by source and reason only); then the delivery id is claimed once in MongoDB (a unique insert: a
// duplicate answers 200 and applies nothing); then the named records are re-read from the source and
// stored (the body's values are never trusted, so a delivery older than the record — reordered
// deliveries — still stores the current record).
// The work is done before answering, not after: it is one read per record through the rate budget,
// and answering only once the change is stored lets the sender's retry cover a failure — a failed
// re-read gives the delivery id back and answers 503, so the retry applies it. Changes that fire no
// webhook at all (API edits, bulk imports in 简道云) are caught by the incremental runs and reconciliation.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/ports.ts';
import type { Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { SyncRunner } from './runner.ts';
import type { SyncStore } from './sync-store.ts';
import type { Connector } from './types.ts';
import { readBodyLimited, sendJson } from '../http/body.ts';

export const WEBHOOK_PATH = (source: string) => `/sync/v1/${source}/webhook`;
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export interface WebhookSource { source: string; connector: Pick<Connector, 'verifyWebhook'>; runner: Pick<SyncRunner, 'refresh'> }
export interface WebhookDeps { store: SyncStore; clock: Clock; logger: Logger }

async function handle(src: WebhookSource, deps: WebhookDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBodyLimited(req, MAX_WEBHOOK_BYTES);
  if (body === null) return sendJson(res, 413, { error: `body larger than ${MAX_WEBHOOK_BYTES} bytes` });
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const verdict = await src.connector.verifyWebhook!({ headers: req.headers, body, query }, deps.clock.now());
  if (!verdict.ok) {
    deps.logger.warn({ source: src.source, verdict: verdict.reason }, 'sync webhook: refused');
    // A correctly signed body custos cannot read is the sender's bug, not a forgery: 400 says so.
    return verdict.reason === 'malformed' ? sendJson(res, 400, { error: 'the delivery names no record id' }) : sendJson(res, 401, { error: 'invalid or stale signature' });
  }
  const claimId = `webhook:${verdict.deliveryId}`;
  if (!(await deps.store.claimDelivery(src.source, claimId, deps.clock.now()))) return sendJson(res, 200, { duplicate: true });
  try {
    const report = await src.runner.refresh(verdict.sourceIds);
    sendJson(res, 200, { duplicate: false, upserted: report.upserted, unchanged: report.unchanged, deleted: report.deleted, rejected: report.rejected });
  } catch (err) {
    await deps.store.releaseDelivery(src.source, claimId);
    deps.logger.warn({ source: src.source, code: (err as { code?: unknown }).code ?? 'error' }, 'sync webhook: re-read failed; the delivery is given back for the sender to retry');
    sendJson(res, 503, { error: 'the record could not be re-read now; retry later' });
  }
}

export function webhookRoutes(sources: WebhookSource[], deps: WebhookDeps): Route[] {
  return sources.filter((s) => s.connector.verifyWebhook)
    .map((src) => ({ method: 'POST' as const, path: WEBHOOK_PATH(src.source), handler: (req, res) => handle(src, deps, req, res) }));
}
