// DingTalk's cards, each entered in the card ledger (bot/runtime/card-ledger.ts) before DingTalk shows
// it, with the buttons it carries, so a click is honoured only on a card custos delivered.
import { randomUUID } from 'node:crypto';
import { CardLedger } from '../runtime/card-ledger.ts';
import type { CardParams, CardSpace, DingTalkApi } from './api.ts';
import { buttonsIn } from './cards.ts';

export { CardLedger };
const spaceKey = (s: CardSpace) => (s.kind === 'robot' ? `robot:${s.userId}` : `group:${s.conversationId}`);

/** The Redis namespace of delivered cards' buttons (shared by the bot and every process's notifiers). */
export function dingtalkCardLedger(queuePrefix: string): string {
  return `${queuePrefix}:dingtalk-cards`;
}

/** Delivering and updating cards through the Open API, each recorded in the ledger. */
export class DingTalkCards {
  constructor(readonly api: DingTalkApi, readonly ledger: CardLedger) {}

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
