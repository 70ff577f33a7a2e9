// 简道云 webhook verification: the documented signature over "{nonce}:{payload}:{secret}:{timestamp}",
// the replay window, de-duplication by X-JDY-DeliverId; a battery of forged deliveries is refused
// before anything is claimed.
import test from 'ava';
import fc from 'fast-check';
import { jdySignature, verifyJdyWebhook } from '../bot/sync/jiandaoyun/webhook.ts';

const SECRET = 'jdy-webhook-secret';
const NOW = new Date('2026-06-01T08:00:00Z');
const TS = String(NOW.getTime() / 1000);
const ID = '59e9a2fe283ffa7c11b1ddbf';

function delivery(body: string, opts: { secret?: string; ts?: string; nonce?: string; deliver?: string } = {}) {
  const ts = opts.ts ?? TS;
  const nonce = opts.nonce ?? '0f5ade';
  return {
    query: new URLSearchParams({ timestamp: ts, nonce }),
    headers: { 'x-jdy-signature': jdySignature(nonce, Buffer.from(body), opts.secret ?? SECRET, ts), 'x-jdy-deliverid': opts.deliver ?? 'd-1' },
    body: Buffer.from(body),
  };
}

const BODY = JSON.stringify({ op: 'data_update', data: { _id: ID, _widget_1: '张三' } });

test('a signed delivery names the record to re-read; the same delivery id again is a duplicate', async (t) => {
  const seen = new Set<string>();
  const claim = async (id: string) => (seen.has(id) ? false : (seen.add(id), true));
  t.deepEqual(await verifyJdyWebhook(SECRET, delivery(BODY), NOW, claim), { ok: true, deliveryId: 'd-1', sourceIds: [ID] });
  t.deepEqual(await verifyJdyWebhook(SECRET, delivery(BODY), NOW, claim), { ok: false, reason: 'duplicate' });
});

test('the documented example signature shape: 40 hex digits of SHA-1', (t) => {
  t.regex(jdySignature('0f5ade', Buffer.from('{}'), 'test-secert', '1498586609'), /^[0-9a-f]{40}$/);
});

test('stale and malformed deliveries are refused, nothing claimed', async (t) => {
  const claimed: string[] = [];
  const claim = async (id: string) => { claimed.push(id); return true; };
  t.deepEqual(await verifyJdyWebhook(SECRET, delivery(BODY, { ts: String(Number(TS) - 301) }), NOW, claim), { ok: false, reason: 'stale' });
  t.deepEqual(await verifyJdyWebhook(SECRET, delivery(BODY, { ts: String(Number(TS) + 301) }), NOW, claim), { ok: false, reason: 'stale' });
  t.deepEqual(await verifyJdyWebhook(SECRET, delivery('{"op":"data_create","data":{}}'), NOW, claim), { ok: false, reason: 'malformed' });
  t.deepEqual(await verifyJdyWebhook(SECRET, delivery('not json'), NOW, claim), { ok: false, reason: 'malformed' });
  t.deepEqual(claimed, []);
});

test('forgery battery: 500 altered deliveries are refused before anything is claimed', async (t) => {
  const claimed: string[] = [];
  const claim = async (id: string) => { claimed.push(id); return true; };
  await fc.assert(fc.asyncProperty(fc.nat(5), fc.string({ minLength: 1, maxLength: 40 }), async (kind, noise) => {
    const d = delivery(BODY);
    if (kind === 0) Object.assign(d, delivery(BODY, { secret: `${SECRET}${noise}` }));
    if (kind === 1) d.body = Buffer.from(BODY.replace('张三', `张三${noise}`));
    if (kind === 2) d.query.set('nonce', `${d.query.get('nonce')}${noise}`);
    if (kind === 3) d.query.set('timestamp', String(Number(TS) + 1 + noise.length));
    if (kind === 4) d.headers['x-jdy-signature'] = noise;
    if (kind === 5) delete (d.headers as Record<string, string | undefined>)['x-jdy-signature'];
    const r = await verifyJdyWebhook(SECRET, d, NOW, claim);
    return !r.ok && (r.reason === 'signature');
  }), { numRuns: 500 });
  t.deepEqual(claimed, []);
});
