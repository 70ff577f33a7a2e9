// Block Kit for audit views: the paged table as one code block of rows (Slack's limits: ≤ 3000
// characters a section, button values ≤ 2000), with Newer / Older buttons carrying page tokens.
import type { types } from '@slack/bolt';
import type { AuditView } from '../core/audit-query-views.ts';
import { escapeMrkdwn, renderView, type SlackMessage } from './blocks.ts';

export const ACTION_AUDIT_OLDER = 'audit_older';
export const ACTION_AUDIT_NEWER = 'audit_newer';
/** Opens an audit-export request (bot/slack/approval-handlers.ts): the value is the filter's token. */
export const ACTION_AUDIT_EXPORT = 'audit_export';

type KnownBlock = types.KnownBlock;

export function renderAuditView(view: AuditView): SlackMessage {
  if (view.kind !== 'audit-table') return renderView(view);
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(view.title).slice(0, 2900)}*` } },
  ];
  if (view.empty) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(view.empty) } });
  else {
    // Rows are short (ids and codes); a page of 15 fits one section, longer pages continue in the next.
    let chunk = escapeMrkdwn(view.header);
    for (const row of view.rows) {
      const line = escapeMrkdwn(row);
      if (chunk.length + line.length + 10 > 2900) { blocks.push(codeSection(chunk)); chunk = line; } else chunk += `\n${line}`;
    }
    blocks.push(codeSection(chunk));
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(view.footer) }] });
  const buttons = [
    ...(view.newer ? [{ type: 'button' as const, action_id: ACTION_AUDIT_NEWER, text: { type: 'plain_text' as const, text: view.newer.label }, value: view.newer.value.slice(0, 2000) }] : []),
    ...(view.older ? [{ type: 'button' as const, action_id: ACTION_AUDIT_OLDER, text: { type: 'plain_text' as const, text: view.older.label }, value: view.older.value.slice(0, 2000) }] : []),
    ...(view.export ? [{ type: 'button' as const, action_id: ACTION_AUDIT_EXPORT, text: { type: 'plain_text' as const, text: view.export.label }, value: view.export.value.slice(0, 2000) }] : []),
  ];
  if (buttons.length) blocks.push({ type: 'actions', block_id: 'audit_paging', elements: buttons });
  return { text: view.title, blocks };
}

function codeSection(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${text}\`\`\`` } };
}
