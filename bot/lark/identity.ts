// A Lark user's profile as the conversation layer's port gives it: read from the contact API at most
// once per turn, and only when needed (an unbound user). Lark gives no per-user locale here, so a user
// custos does not know is answered in the configured default language.
import { contactProfile, type ChatProfile } from '../core/identity.ts';
import { LarkApiError, type LarkApi } from './api.ts';

/** The contact API's user as a profile (the conversation layer's port memoises it per turn). */
export function larkProfile(api: LarkApi, openId: string): Promise<ChatProfile> {
  // Outside the app's visibility, another tenant's member in a group: Lark will not describe them.
  return contactProfile(() => api.user(openId), (err) => err instanceof LarkApiError && PROFILE_UNAVAILABLE.has(err.code));
}

/** contact.user.get: 41050 no authority over the user (not visible to the app). */
const PROFILE_UNAVAILABLE = new Set([41050]);
