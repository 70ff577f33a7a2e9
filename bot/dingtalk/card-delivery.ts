// Delivering and updating DingTalk's interactive cards through the Open API, each entered in the click
// ledger (bot/runtime/click-ledger.ts) first: DingTalk's card callbacks are unsigned, so a click is
// honoured only on a card custos delivered, for a button it carries now.
import { randomUUID } from 'node:crypto';
import { ClickLedger } from '../runtime/click-ledger.ts';
import type { RedisClient } from '../store/redis-client.ts';
import type { CardParams, CardSpace, DingTalkApi } from './api.ts';
import { buttonsIn } from './cards.ts';

const spaceKey = (s: CardSpace) => (s.kind === 'robot' ? `robot:${s.userId}` : `group:${s.conversationId}`);

/**
 * The cards, on one ledger for the bot and every process's notifiers: under the key prefix (the bot's
 * own answers always were; the notifiers' were under the queue prefix, which differs on a Redis Cluster,
 * so a click on their cards found no entry there).
 */
export function dingtalkCards(api: DingTalkApi, redis: RedisClient, keyPrefix: string): DingTalkCards {
  return new DingTalkCards(api, new ClickLedger(redis, `${keyPrefix}:dingtalk-cards`));
}

export class DingTalkCards {
  constructor(readonly api: DingTalkApi, readonly ledger: ClickLedger) {}

  async deliver(space: CardSpace, params: CardParams, group?: string): Promise<string> {
    // Known before it is shown: a click as fast as the card appears is not taken for a forgery.
    const outTrackId = `custos-${randomUUID()}`;
    await this.ledger.remember(outTrackId, spaceKey(space), buttonsIn(params), group);
    return this.api.deliverCard(space, params, outTrackId);
  }

  /** Replaces the card's content in place for everyone who sees it; its old buttons stop working. */
  async update(outTrackId: string, space: string, params: CardParams): Promise<void> {
    await this.ledger.remember(outTrackId, space, buttonsIn(params));
    await this.api.updateCard(outTrackId, params);
  }
}
