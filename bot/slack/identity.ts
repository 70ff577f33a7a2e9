// A Slack user as the shared identifier (bot/core/identity.ts) sees them: the user id and a profile read
// from `users.info` at most once per request, and only when needed (an unbound user, the locale of a
// user custos does not know). Every Slack handler identifies its user through this and ChatIdentifier.
import type { webApi } from '@slack/bolt';
import type { ChatProfile, ChatUser } from '../core/identity.ts';

export function slackUser(client: webApi.WebClient, userId: string): ChatUser {
  let cached: Promise<ChatProfile> | undefined;
  const profile = () => {
    cached ??= slackProfile(client, userId);
    return cached;
  };
  return { platform: 'slack', id: userId, profile };
}

/** `users.info` as a profile (the conversation layer's port memoises it per turn). */
export function slackProfile(client: webApi.WebClient, userId: string): Promise<ChatProfile> {
  return client.users.info({ user: userId }).then((r) => ({
    ...(r.user?.profile?.email ? { email: r.user.profile.email } : {}),
    ...(r.user?.locale ? { locale: r.user.locale } : {}),
  }), (err: unknown) => {
    // A user Slack will not describe to us (another organisation's member in a shared channel, a
    // deleted account) has no e-mail we could match: an unknown user, refused as such — not an error.
    if (isSlackPlatformError(err, PROFILE_UNAVAILABLE)) return {};
    throw err;
  });
}

const PROFILE_UNAVAILABLE = new Set(['user_not_found', 'user_not_visible', 'account_inactive']);

/** A Web API call Slack answered with `ok: false` and one of `codes` (bolt's stable error code, not its message). */
function isSlackPlatformError(err: unknown, codes: Set<string>): boolean {
  const e = err as { code?: unknown; data?: { error?: unknown } } | null;
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string' && codes.has(e.data.error);
}
