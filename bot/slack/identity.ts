// A Slack user's profile as the conversation layer's port gives it (bot/conversation/people.ts reads it
// at most once per turn, and only when needed: an unbound user, the locale of a user custos does not know).
import type { webApi } from '@slack/bolt';
import { contactProfile, type ChatProfile } from '../core/identity.ts';

/** `users.info` as a profile (the conversation layer's port memoises it per turn). */
export function slackProfile(client: webApi.WebClient, userId: string): Promise<ChatProfile> {
  const read = () => client.users.info({ user: userId }).then((r) => ({ email: r.user?.profile?.email, locale: r.user?.locale }));
  // Another organisation's member in a shared channel, a deleted account: Slack will not describe them.
  return contactProfile(read, (err) => isSlackPlatformError(err, PROFILE_UNAVAILABLE));
}

const PROFILE_UNAVAILABLE = new Set(['user_not_found', 'user_not_visible', 'account_inactive']);

/** A Web API call Slack answered with `ok: false` and one of `codes` (bolt's stable error code, not its message). */
function isSlackPlatformError(err: unknown, codes: Set<string>): boolean {
  const e = err as { code?: unknown; data?: { error?: unknown } } | null;
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string' && codes.has(e.data.error);
}
