// `POST /sync/v1/SOURCE/records`: the push API for systems without a connector. The body is JSON Lines,
// one change per line: `{"op":"upsert","id":"ERP-1","fields":{...}}` or `{"op":"delete","id":"ERP-1"}`,
// `fields` in the source's own names (its mapping file maps them like any connector's records).
// Order of checks: size limit, then the signature over the raw bytes (401, nothing parsed, nothing
// stored, nothing claimed), then the batch id: a batch id seen before answers the first answer again
// without applying anything (idempotent retries). Results are per line: upserted / deleted / rejected
// (with the fields at fault, never a value) / invalid (the line is not a change).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Clock } from '../core/ports.ts';
import type { Route } from '../http/server.ts';
import { BATCH_HEADER, verifyPush } from './push-signature.ts';
import type { SyncRunner } from './runner.ts';
import type { SyncStore } from './sync-store.ts';
import type { SourceChange } from './types.ts';
import { readBodyLimited, sendJson } from '../http/body.ts';

export const PUSH_PATH = (source: string) => `/sync/v1/${source}/records`;
export const MAX_PUSH_BYTES = 4 * 1024 * 1024;
export const MAX_PUSH_LINES = 5000;
/** A batch claimed this long ago without a result was cut short (its bot died): a retry takes it over. */
export const STALE_CLAIM_MS = 10 * 60_000;
/** The part of a batch's audit event ids that names it (runner.apply `once`): the same on every retry. */
export const pushOnce = (batchId: string) => `push:${batchId}`;

export interface PushSource { source: string; secret: string; runner: Pick<SyncRunner, 'apply'> }
export interface PushDeps {
  store: SyncStore; clock: Clock; logger: Logger;
  /** CUSTOS_SYNC_PUSH_STALE_AFTER in ms (default STALE_CLAIM_MS). */
  staleClaimMs?: number;
}

export type LineResult =
  | { line: number; id: string; status: 'upserted' | 'deleted' }
  | { line: number; id: string; status: 'rejected'; problems: { field: string; reason: string }[] }
  | { line: number; status: 'invalid'; reason: string };

const lineSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('upsert'), id: z.string().min(1).max(128), fields: z.record(z.string(), z.unknown()) }),
  z.strictObject({ op: z.literal('delete'), id: z.string().min(1).max(128) }),
]);

function parseLines(body: Buffer): { changes: { line: number; change: SourceChange }[]; invalid: LineResult[] } {
  const changes: { line: number; change: SourceChange }[] = [];
  const invalid: LineResult[] = [];
  body.toString('utf8').split('\n').forEach((text, i) => {
    if (text.trim() === '') return;
    let raw: unknown;
    try { raw = JSON.parse(text); } catch { invalid.push({ line: i + 1, status: 'invalid', reason: 'not a JSON object' }); return; }
    const r = lineSchema.safeParse(raw);
    if (!r.success) { invalid.push({ line: i + 1, status: 'invalid', reason: 'must be {"op":"upsert","id":…,"fields":{…}} or {"op":"delete","id":…}' }); return; }
    const d = r.data;
    changes.push({ line: i + 1, change: d.op === 'upsert' ? { op: 'upsert', sourceId: d.id, fields: d.fields } : { op: 'delete', sourceId: d.id } });
  });
  return { changes, invalid };
}

async function handle(src: PushSource, deps: PushDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBodyLimited(req, MAX_PUSH_BYTES);
  if (body === null) return sendJson(res, 413, { error: `body larger than ${MAX_PUSH_BYTES} bytes; send smaller batches` });
  const verdict = verifyPush(src.secret, req.headers, body, deps.clock.now());
  if (verdict !== 'ok') {
    deps.logger.warn({ source: src.source, verdict }, 'sync push: refused unsigned or stale request');
    return sendJson(res, 401, { error: 'invalid or stale signature' });
  }
  const batchId = req.headers[BATCH_HEADER];
  if (typeof batchId !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(batchId)) {
    return sendJson(res, 400, { error: `${BATCH_HEADER} is required: 1 to 64 letters, digits or _ . : -, unique per batch` });
  }
  const { changes, invalid } = parseLines(body);
  if (changes.length + invalid.length > MAX_PUSH_LINES) return sendJson(res, 413, { error: `more than ${MAX_PUSH_LINES} lines; send smaller batches` });
  const now = deps.clock.now();
  if (!(await deps.store.claimDelivery(src.source, `push:${batchId}`, now))) {
    const earlier = await deps.store.deliveryResult(src.source, `push:${batchId}`);
    if (earlier !== undefined) return sendJson(res, 200, { batchId, replayed: true, results: earlier });
    // Claimed long ago and never finished: the bot that claimed it died mid-apply (applying is idempotent).
    const staleBefore = new Date(now.getTime() - (deps.staleClaimMs ?? STALE_CLAIM_MS));
    if (!(await deps.store.takeOverStaleDelivery(src.source, `push:${batchId}`, staleBefore, now))) {
      return sendJson(res, 409, { error: 'this batch id is being applied; retry shortly' });
    }
  }
  let results: LineResult[];
  try {
    results = await applyLines(src, changes, invalid, batchId);
  } catch (err) {
    await deps.store.releaseDelivery(src.source, `push:${batchId}`);
    throw err;
  }
  await deps.store.setDeliveryResult(src.source, `push:${batchId}`, results);
  sendJson(res, 200, { batchId, replayed: false, results });
}

async function applyLines(src: PushSource, changes: { line: number; change: SourceChange }[], invalid: LineResult[], batchId: string): Promise<LineResult[]> {
  // A retry of a batch whose answer never came (an audit enqueue that timed out after Redis took it, a
  // bot killed mid-apply) applies it again: one sync.run and one sync.delete per deletion all the same.
  const report = await src.runner.apply(changes.map((c) => c.change), { once: pushOnce(batchId) });
  const problems = new Map<string, { field: string; reason: string }[]>();
  for (const r of report.rejections) problems.set(r.sourceId, [...(problems.get(r.sourceId) ?? []), { field: r.field, reason: r.reason }]);
  const applied: LineResult[] = changes.map(({ line, change }) => {
    const p = problems.get(change.sourceId);
    if (change.op === 'upsert' && p) return { line, id: change.sourceId, status: 'rejected', problems: p };
    return { line, id: change.sourceId, status: change.op === 'delete' ? 'deleted' : 'upserted' };
  });
  return [...applied, ...invalid].sort((a, b) => a.line - b.line);
}

export function pushRoutes(sources: PushSource[], deps: PushDeps): Route[] {
  return sources.map((src) => ({ method: 'POST' as const, path: PUSH_PATH(src.source), handler: (req, res) => handle(src, deps, req, res) }));
}
