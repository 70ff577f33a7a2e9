// Approval-flow requests for tests: modal submissions (view_submission), the modal opened after a
// click, and a clock the test moves forward.
import { randomBytes } from 'node:crypto';
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import type { RecordedCall } from '../fakes/slack-api.ts';
import { FORM, post, sign } from './slack-sign.ts';
import { SIGNING_SECRET, type SlackHarness } from './slack-bot.ts';

/** A Tuesday, 10:30 in Shanghai (inside working hours), running in real time plus what the test adds. */
export function movableClock(start = Date.parse('2026-06-30T02:30:00Z')): { now(): Date; advance(ms: number): void } {
  const t0 = Date.now();
  let offset = 0;
  return { now: () => new Date(start + (Date.now() - t0) + offset), advance: (ms) => { offset += ms; } };
}

export type StateValues = Record<string, Record<string, { type: string; value?: string; selected_options?: { value: string }[] }>>;

export async function submitView(h: SlackHarness, userId: string, callbackId: string, metadata: string, values: StateValues): Promise<{ status: number; body: string }> {
  const payload = {
    type: 'view_submission',
    team: { id: 'T0TEST', domain: 'fake' },
    user: { id: userId, username: userId.toLowerCase(), team_id: 'T0TEST' },
    api_app_id: 'A0TEST',
    token: 'legacy-verification-token',
    trigger_id: `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`,
    view: {
      id: `V${randomBytes(5).toString('hex').toUpperCase()}`, team_id: 'T0TEST', type: 'modal', callback_id: callbackId,
      private_metadata: metadata, state: { values }, hash: 'h', title: { type: 'plain_text', text: 't' }, blocks: [],
    },
    response_urls: [],
  };
  const raw = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const res = await post(h.eventsUrl, sign(SIGNING_SECRET, raw, FORM));
  return { status: res.status, body: res.text };
}

/** The request modal's submission values. */
export function requestValues(reason: string, duration: string | number, groups?: string[]): StateValues {
  return {
    reason: { reason: { type: 'plain_text_input', value: reason } },
    duration: { duration: { type: 'number_input', value: String(duration) } },
    ...(groups ? { groups: { groups: { type: 'checkboxes', selected_options: groups.map((value) => ({ value })) } } } : {}),
  };
}

export function denyValues(reason: string): StateValues {
  return { reason: { reason: { type: 'plain_text_input', value: reason } } };
}

/** The first views.open call made after `since` calls were recorded. */
export function modalAfter(h: SlackHarness, since: number): Promise<RecordedCall> {
  return h.fake.waitFor((c) => c.method === 'views.open' && h.fake.calls.indexOf(c) >= since);
}

/** The view object a views.open call opened. */
export function openedView(call: RecordedCall): { private_metadata: string; blocks: unknown[]; callback_id: string } {
  const v = call.body.view;
  return (typeof v === 'string' ? JSON.parse(v) : v) as { private_metadata: string; blocks: unknown[]; callback_id: string };
}

/** Buttons of a Block Kit message: action_id and value. */
export function buttons(body: Record<string, unknown>): { actionId: string; value: string; text: string }[] {
  const blocks = (typeof body.blocks === 'string' ? JSON.parse(body.blocks) : body.blocks) as { type: string; elements?: { type: string; action_id?: string; value?: string; text?: { text: string } }[] }[] | undefined;
  return (blocks ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? [])
    .filter((e) => e.type === 'button').map((e) => ({ actionId: e.action_id ?? '', value: e.value ?? '', text: e.text?.text ?? '' }));
}

/**
 * `key` asks for access to `groups` of `customerId` through the card's button and the request modal,
 * as a user would; resolves with the request id from the first approver card posted afterwards.
 */
export async function requestAccess(h: SlackHarness, key: DemoEmployeeKey, customerId: string, groups: string[], minutes: number, reason = '客户回访'): Promise<string> {
  const since = h.fake.calls.length;
  await h.click(h.userId(key), h.dmOf(key), 'approval_access:1', JSON.stringify({ c: customerId }));
  const modal = openedView(await modalAfter(h, since));
  const res = await submitView(h, h.userId(key), modal.callback_id, modal.private_metadata, requestValues(reason, minutes, groups));
  if (res.body) throw new Error(`request refused: ${res.body}`);
  const card = await h.fake.waitFor((x) => h.fake.calls.indexOf(x) >= since && x.method === 'chat.postMessage' && /#R-[A-P]{10}/.test(String(x.body.text)));
  return /#(R-[A-P]{10})/.exec(String(card.body.text))![1]!;
}
