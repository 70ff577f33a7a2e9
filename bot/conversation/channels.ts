// The kind of a conversation (dm, private, public, shared), which the policies decide on. Kinds change
// rarely, so answers are cached per platform and conversation; a conversation the bot cannot see is
// assumed to be the strictest kind the payload allows (never cached, so it is asked again next time).
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { ChannelKind } from '../../policies/types.ts';
import type { ConversationPort, Turn } from './types.ts';

export const CHANNEL_CACHE_MS = 300_000;
const MAX_CACHED = 10_000;

export class ChannelKinds {
  private readonly cache = new Map<string, { kind: ChannelKind; until: number }>();

  constructor(private readonly deps: { clock: Clock; logger: Logger; cacheMs?: number }) {}

  async of(turn: Turn, port: ConversationPort): Promise<ChannelKind> {
    if (turn.kind) return turn.kind;
    const key = `${turn.platform}:${turn.conversationId}`;
    const now = this.deps.clock.now().getTime();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.kind;
    try {
      const kind = await port.conversationKind(turn.conversationId);
      if (this.cache.size >= MAX_CACHED) this.cache.clear(); // a bound, not an LRU: kinds are cheap to ask again
      this.cache.set(key, { kind, until: now + (this.deps.cacheMs ?? CHANNEL_CACHE_MS) });
      return kind;
    } catch (err) {
      this.deps.logger.info({ platform: turn.platform, err: err instanceof Error ? err.name : typeof err }, 'conversation: kind unknown; assuming the strictest');
      return turn.kindIfUnseen ?? 'shared';
    }
  }
}
