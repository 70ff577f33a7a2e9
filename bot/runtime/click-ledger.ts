// The click ledger, for a platform whose card clicks arrive unsigned (DingTalk's card callbacks carry no
// signature custos can check; Slack, Lark and WeCom sign or encrypt theirs and need none): each card is
// entered here before the platform shows it, with the buttons it carries, and a click is accepted only
// for a card we delivered, from someone who sees it (a 1:1 card's owner; anyone in a group card's group,
// whom the core then authorises), for a button the card carries now — so a forged or replayed click
// cannot invent an action, aim at someone else's card or revive a decided card's button. Spaces are
// `robot:<userId>` (one person's chat with the bot) or `group:<id>`. Redis; fails closed.
import { createHash, randomUUID } from 'node:crypto';
import { redisClaims } from './once.ts';
import type { RedisClient } from '../store/redis-client.ts';

const CARD_TTL_SECONDS = 45 * 86_400;
const CLICK_TTL_SECONDS = 86_400;

/** `group`: the group a 1:1 card answers (an @mention there is answered in the asker's chat with the bot), where its clicks act. */
interface Entry { space: string; buttons: string[]; group?: string }

export type ClickVerdict = { ok: true; space: string; group?: string } | { ok: false; reason: 'unknown_card' | 'not_yours' | 'no_such_button' | 'ledger_unavailable' };

const buttonKey = (id: string, value: string) => createHash('sha256').update(`${id}\n${value}`).digest('base64url');

export class ClickLedger {
  constructor(private readonly redis: RedisClient, private readonly namespace: string) {}

  /** Records (or replaces) a card's space and buttons; an updated card keeps the group it answers. */
  async remember(cardId: string, space: string, buttons: { id: string; value: string }[], group?: string): Promise<void> {
    const key = `${this.namespace}:card:${cardId}`;
    const kept = group ?? (JSON.parse((await this.redis.get(key)) ?? '{}') as Partial<Entry>).group;
    const entry: Entry = { space, buttons: buttons.map((b) => buttonKey(b.id, b.value)), ...(kept ? { group: kept } : {}) };
    await this.redis.set(key, JSON.stringify(entry), 'EX', CARD_TTL_SECONDS);
  }

  /** Whether `userId` may click (`id`, `value`) on the card now. */
  async check(cardId: string, userId: string, id: string, value: string): Promise<ClickVerdict> {
    let raw: string | null;
    try {
      raw = await this.redis.get(`${this.namespace}:card:${cardId}`);
    } catch {
      return { ok: false, reason: 'ledger_unavailable' };
    }
    if (!raw) return { ok: false, reason: 'unknown_card' };
    const entry = JSON.parse(raw) as Entry;
    if (entry.space.startsWith('robot:') && entry.space !== `robot:${userId}`) return { ok: false, reason: 'not_yours' };
    return entry.buttons.includes(buttonKey(id, value)) ? { ok: true, space: entry.space, ...(entry.group ? { group: entry.group } : {}) } : { ok: false, reason: 'no_such_button' };
  }

  /** The first delivery of a callback body; a redelivery of the same body is false. Fails closed. */
  async firstDelivery(body: Buffer): Promise<boolean | 'unavailable'> {
    const key = createHash('sha256').update(body).digest('base64url');
    const claimed = await redisClaims(this.redis, `${this.namespace}:click`, CLICK_TTL_SECONDS)(key, randomUUID());
    return claimed === 'unavailable' ? claimed : claimed !== 'other';
  }
}
