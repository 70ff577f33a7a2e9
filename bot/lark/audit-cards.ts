// Lark card JSON 2.0 for audit views: the paged table as plain-text lines (rows are ids and codes; no
// markdown, so nothing typed into a filter can format or link), with Newer / Older buttons carrying the
// core's page tokens, like Slack's `/audit` (bot/slack/audit-blocks.ts), and Export results carrying the
// query's filter token (an `audit-export` request, approval-handlers.ts; never a download). Other audit
// views (help, chain state, refusals) are ordinary neutral views.
import type { AuditView } from '../core/audit-query-views.ts';
import { button, card, renderView, text, type CardElement, type LarkCard } from './cards.ts';

export const ACTION_AUDIT_PAGE = 'audit_page';
/** Opens the request form for an `audit-export` request (bot/lark/approval-handlers.ts). */
export const ACTION_AUDIT_EXPORT = 'audit_export';

/** Lark keeps a card under 30 KB; a page is 15 short rows, so one block of rows fits a div. */
const ROWS_PER_BLOCK = 15;

/** `groupChat`: the group a private copy belongs to, so a page turn is decided for that group. */
export function renderAuditCard(view: AuditView, groupChat?: string): LarkCard {
  if (view.kind !== 'audit-table') return renderView(view);
  const elements: CardElement[] = [];
  if (view.empty) elements.push(text(view.empty));
  else {
    for (let i = 0; i < view.rows.length; i += ROWS_PER_BLOCK) {
      elements.push(text([...(i === 0 ? [view.header] : []), ...view.rows.slice(i, i + ROWS_PER_BLOCK)].join('\n')));
    }
  }
  elements.push({ tag: 'hr' }, text(view.footer));
  if (view.newer) elements.push(pageButton(view.newer.label, view.newer.value, groupChat));
  if (view.older) elements.push(pageButton(view.older.label, view.older.value, groupChat));
  // The filter token only (ids and codes); the group, so the request is decided for where it was asked.
  if (view.export) elements.push(button(view.export.label, { a: ACTION_AUDIT_EXPORT, v: view.export.value, ...(groupChat ? { g: groupChat } : {}) }));
  return card(view.title, elements, 'grey');
}

function pageButton(label: string, token: string, groupChat: string | undefined): CardElement {
  const value: Record<string, string> = { a: ACTION_AUDIT_PAGE, t: token, ...(groupChat ? { g: groupChat } : {}) };
  return { tag: 'button', text: { tag: 'plain_text', content: label }, type: 'default', behaviors: [{ type: 'callback', value }] };
}
