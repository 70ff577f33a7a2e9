// The Lark `audit …` command (the same words as Slack's `/audit`): the conversation layer identifies,
// works out the chat kind and asks the core (bot/core/audit-query*.ts); here only the mentions in the
// words are turned into the open_ids the audit grammar reads.
/**
 * The message text with the people it mentions as their open_ids (`by @张三` → `by ou_…`, which the
 * audit grammar reads as a Lark mention). Mentions before the first word address the bot and are dropped.
 */
export function withMentionIds(text: string, mentions: Record<string, unknown>[]): string {
  let out = text.trim().replace(/^(?:@_(?:user_\d+|all)\s*)+/, '');
  // Longest keys first: `@_user_1` is a prefix of `@_user_12`.
  const byKeyLength = [...mentions].sort((a, b) => String(b.key ?? '').length - String(a.key ?? '').length);
  for (const m of byKeyLength) {
    const key = typeof m.key === 'string' ? m.key : '';
    const id = m.id && typeof m.id === 'object' ? (m.id as Record<string, unknown>).open_id : undefined;
    if (key && typeof id === 'string' && /^ou_[A-Za-z0-9]+$/.test(id)) out = out.split(key).join(id);
  }
  return out.replace(/@_(?:user_\d+|all)/g, ' ').replace(/\s+/g, ' ').trim();
}
