// Picked @mentions in a robot message, as userids. DingTalk's robot message carries a picked mention as
// `@<display name>` in `text.content` and the ids apart, in `atUsers: [{dingtalkId, staffId}]`; it
// documents neither the order of atUsers nor which name is whose, and atUsers also lists the robot itself
// (its dingtalkId is the message's `chatbotUserId`; its own @ is taken out of the text) and people outside
// the organisation (no staffId). So each mentioned member's name is asked of the contact API
// (topapi/v2/user/get `name`) and `@<that name>` becomes `@<userid>`, the module's mention form: order does
// not matter and a name may hold spaces. A mention no member's name matches (an outsider, a group
// nickname, two members of one name) stays a name, which `by @…` refuses: never taken for another person.
import type { DingTalkApi } from './api.ts';

export interface AtUser { dingtalkId?: string | undefined; staffId?: string | undefined }

/** The userids (staffId) a message mentions, the robot and people outside the organisation left out. */
export function mentionedStaff(m: { atUsers?: AtUser[] | undefined; chatbotUserId?: string | undefined }): string[] {
  return [...new Set((m.atUsers ?? []).filter((u) => u.staffId && u.dingtalkId !== m.chatbotUserId).map((u) => u.staffId!))];
}

/** `text` with each `@<name>` (then a space or the end) of a mentioned member as `@<userid>`; a name two members share is left. */
export function withMentionIds(text: string, people: { userId: string; name: string | null }[]): string {
  const named = people.filter((p): p is { userId: string; name: string } => Boolean(p.name));
  const unique = named.filter((p) => named.every((o) => o.name !== p.name || o.userId === p.userId));
  // Longest names first: `@张三 丰` must not become `@<张三's id> 丰`.
  return unique.sort((a, b) => b.name.length - a.name.length).reduce((out, p) => {
    const at = new RegExp(`@${p.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=\\s|$)`, 'gu');
    return out.replace(at, () => `@${p.userId}`);
  }, text);
}

/** The message's text with its picked mentions as userids (one contact lookup per mentioned member). */
export async function textWithMentionIds(m: { text: string; atUsers?: AtUser[] | undefined; chatbotUserId?: string | undefined }, api: Pick<DingTalkApi, 'user'>): Promise<string> {
  const staff = m.text.includes('@') ? mentionedStaff(m) : [];
  if (staff.length === 0) return m.text;
  return withMentionIds(m.text, await Promise.all(staff.map(async (userId) => ({ userId, name: (await api.user(userId))?.name ?? null }))));
}
