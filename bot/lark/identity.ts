// A Lark user as the shared identifier (bot/core/identity.ts) sees them: the open_id and a profile read
// from the contact API at most once per request, and only when needed (an unbound user). Every Lark
// handler identifies its user through this and ChatIdentifier. Lark gives no per-user locale here, so
// a user custos does not know is answered in the configured default language.
import type { ChatProfile, ChatUser } from '../core/identity.ts';
import type { LarkApi } from './api.ts';

export function larkUser(api: LarkApi, openId: string): ChatUser {
  let cached: Promise<ChatProfile> | undefined;
  const profile = () => {
    cached ??= api.user(openId).then((u) => (u.email ? { email: u.email } : {}));
    return cached;
  };
  return { platform: 'lark', id: openId, profile };
}
