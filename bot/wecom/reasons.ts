// Reasons on WeCom. A `button_interaction` template card has no text input, and an application has no
// modal, so a form the layer opens (a request's purpose and duration, a Deny's reason) becomes a prompt
// and the member's NEXT text message to the app within REASON_WINDOW_SECONDS is taken as the answer:
// submitted to the layer as the form (its schema, the service's checks), or dropped on `取消` / `cancel`.
// What waits is the form's metadata (ids only, as the codec wrote it), in Redis under a digest of the
// userid, taken with GETDEL so one message answers one prompt. A later message is an ordinary turn.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../store/redis-client.ts';
import type { FormView } from '../conversation/types.ts';
import { hasMessage, registerMessages, t, type Locale } from '../core/messages.ts';

export const REASON_WINDOW_SECONDS = 600;

const entries = {
  'wecom.reason.request': {
    'zh-CN': '{title}\n{summary}\n请在 10 分钟内回复一条消息作为{reason}。可在开头写时长（分钟，最多 {max}），例如“{initial} 核对合同”；不写则为 {initial} 分钟。回复“取消”放弃。',
    en: '{title}\n{summary}\nReply within 10 minutes with one message: the {reason}. You may start it with a duration in minutes (at most {max}), e.g. "{initial} contract check"; without one it is {initial} minutes. Reply "cancel" to drop it.',
  },
  'wecom.reason.deny': {
    'zh-CN': '{title}\n{card}\n请在 10 分钟内回复一条消息作为{reason}。回复“取消”放弃。',
    en: '{title}\n{card}\nReply within 10 minutes with one message: the {reason}. Reply "cancel" to drop it.',
  },
  'wecom.reason.groups': {
    'zh-CN': '{label}：{groups}。请把要申请的分组写在最前面，用空格分开，例如“身份信息 30 核对合同”。',
    en: '{label}: {groups}. Put the groups you ask for first, separated by spaces, e.g. "identity 30 contract check".',
  },
  'wecom.reason.cancelled': { 'zh-CN': '已取消，未提交任何内容。', en: 'Cancelled; nothing was submitted.' },
};
if (!hasMessage('wecom.reason.cancelled')) registerMessages(entries);

export interface AwaitedReason {
  form: 'request' | 'deny'; metadata: string; initialMinutes?: number;
  /** Access requests: the groups the member may ask for (ids and their labels), named at the start of the reply. */
  groups?: { value: string; label: string }[];
}

const CANCEL = /^\s*(取消|cancel)\s*$/i;

export class PendingReasons {
  constructor(private readonly redis: RedisClient, private readonly namespace: string) {}

  async arm(userId: string, form: FormView): Promise<void> {
    const awaited: AwaitedReason = form.kind === 'request'
      ? { form: 'request', metadata: form.form.metadata, initialMinutes: form.form.duration.initial, ...(form.form.groups ? { groups: form.form.groups.options.map((o) => ({ value: o.value, label: o.label })) } : {}) }
      : { form: 'deny', metadata: form.form.metadata };
    await this.redis.set(this.key(userId), JSON.stringify(awaited), 'EX', REASON_WINDOW_SECONDS);
  }

  /** The prompt the member answers, or null when none is waiting; removed either way. */
  async take(userId: string): Promise<AwaitedReason | null> {
    const raw = await this.redis.getdel(this.key(userId));
    if (!raw) return null;
    try {
      return JSON.parse(raw) as AwaitedReason;
    } catch {
      return null;
    }
  }

  private key(userId: string): string {
    return `${this.namespace}:${createHash('sha256').update(userId).digest('base64url').slice(0, 32)}`;
  }
}

/** What the member reads: the form's title and what it asks for, how to answer, how to cancel. */
export function promptText(form: FormView, locale: Locale): string {
  if (form.kind === 'request') {
    const f = form.form;
    const text = t('wecom.reason.request', locale, { title: f.title, summary: f.summary, reason: f.reasonLabel, max: f.duration.max, initial: f.duration.initial });
    return f.groups ? `${text}\n${t('wecom.reason.groups', locale, { label: f.groups.label, groups: f.groups.options.map((o) => o.label).join(locale === 'en' ? ', ' : '、') })}` : text;
  }
  return t('wecom.reason.deny', locale, { title: form.form.title, card: form.card.title, reason: form.form.reasonLabel });
}

/** The reply as the form's inputs; null when it cancels. `90 核对合同` → 90 minutes, `核对合同`. */
export function answerInputs(awaited: AwaitedReason, text: string): Record<string, unknown> | null {
  if (CANCEL.test(text)) return null;
  const reply = text.trim();
  if (awaited.form === 'deny') return { reason: reply };
  // Leading words naming a group (its label or id), then an optional number of minutes, then the purpose.
  const words = reply.split(/\s+/);
  const groups: string[] = [];
  for (let g = group(awaited, words[0]); g && words.length > 1; g = group(awaited, words[0])) {
    if (!groups.includes(g)) groups.push(g);
    words.shift();
  }
  const minutes = words.length > 1 && /^\d{1,7}$/.test(words[0]!) ? words.shift()! : String(awaited.initialMinutes ?? '');
  const purpose = groups.length || words.length < reply.split(/\s+/).length ? words.join(' ') : reply; // the purpose as typed when nothing was taken off
  return { purpose, duration: minutes, ...(groups.length ? { groups } : {}) };
}

function group(awaited: AwaitedReason, word: string | undefined): string | undefined {
  const w = word?.toLowerCase();
  // A label reads `身份信息（最多 60 分钟）`: its name is what comes before the bracket.
  return awaited.groups?.find((o) => o.value.toLowerCase() === w || o.label.split(/[（(]/)[0]!.trim().toLowerCase() === w)?.value;
}
