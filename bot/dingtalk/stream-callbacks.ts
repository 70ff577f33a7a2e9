// Stream mode's two callback topics and its event subscription into the code behind the HTTP callbacks,
// so a message, a click or an event is checked, deduplicated and handled the same way whichever way it
// arrived:
//  - /v1.0/im/bot/messages/get (robot messages): receiver.ts's robotMessageFor (our robot, our
//    organisation), then the handlers, which take each msgId once (a redelivery gives one reply and
//    one set of audit events);
//  - /v1.0/card/instances/callback (card clicks): card-callback.ts's accept (our organisation, the card
//    ledger, one decision per click body);
//  - the event subscription (EVENT frames): `user_leave_org` offboards as over HTTP (events.ts), our
//    organisation's (eventCorpId) only; a redelivery offboards nobody twice (offboarding is idempotent and
//    audits only what it changed, bot/core/offboarding.ts), so no eventId is remembered.
// What the HTTP receiver adds — the `sign` header, the callback URL's token — proves a request came from
// DingTalk; here the authenticated socket does (stream.ts, on the official SDK). A refusal is final and acked as handled
// (stream.ts logs it); only our own failure (the card ledger unreachable) asks DingTalk to deliver again.
import { TOPIC_CARD, TOPIC_ROBOT } from 'dingtalk-stream';
import type { ReadinessCheck } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { clickAcceptor } from './card-callback.ts';
import type { DingTalkCards } from './card-delivery.ts';
import type { DingTalkSettings } from './config.ts';
import type { DingTalkHandlers } from './handlers.ts';
import { streamedEvent } from './events.ts';
import type { ChatOffboardingDeps } from '../runtime/chat-offboarding.ts';
import { robotMessageFor } from './receiver.ts';
import { DingTalkStream, type Acceptor, type StreamOptions } from './stream.ts';

export { TOPIC_CARD, TOPIC_ROBOT };

export interface StreamModeDeps {
  settings: DingTalkSettings;
  handlers: DingTalkHandlers;
  cards: DingTalkCards;
  logger: Logger;
  /** Where a leaver is offboarded. */
  offboarding: ChatOffboardingDeps;
}

export function streamTopics(d: StreamModeDeps): Record<string, Acceptor> {
  return {
    [TOPIC_ROBOT]: async (data) => {
      const message = robotMessageFor(Buffer.from(data, 'utf8'), d.settings);
      if (typeof message === 'string') return message;
      await d.handlers.message(message);
      return 'accepted';
    },
    [TOPIC_CARD]: async (data) => clickAcceptor({ corpId: d.settings.corpId, ledger: d.cards.ledger, handlers: d.handlers, logger: d.logger })(Buffer.from(data, 'utf8')),
  };
}

/** An EVENT frame: refused (acked, nothing done) unless it names its type and id and comes from our organisation. */
export function streamEvents(d: StreamModeDeps): NonNullable<StreamOptions['events']> {
  return async (headers, data) => {
    const { eventType, eventId, eventCorpId } = headers;
    if (!eventType || !eventId) return 'malformed_event';
    if (d.settings.corpId && eventCorpId !== d.settings.corpId) return 'wrong_corp';
    // A failure rejects: DingTalkStream answers LATER and DingTalk delivers the event again.
    const verdict = await streamedEvent(d.offboarding, eventType, data);
    return verdict === 'ok' ? 'accepted' : verdict;
  };
}

/** The Stream client for the bot's lifetime, and the readiness check that reports its socket. */
export function streamMode(d: StreamModeDeps): { stream: DingTalkStream; readiness: ReadinessCheck } {
  const stream = new DingTalkStream({ settings: d.settings, topics: streamTopics(d), events: streamEvents(d), logger: d.logger });
  // The SDK's `connected`: false from DingTalk's `disconnect` until the next socket opens (about 11 s).
  const readiness = { name: 'dingtalk-stream', check: async () => { if (!stream.connected) throw new Error('dingtalk stream is not connected'); } };
  return { stream, readiness };
}
