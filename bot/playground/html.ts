// HTML rendering of the neutral views (bot/core/views.ts) for the playground: the same cards the chat
// adapters show, as plain semantic HTML. Values are already masked by the core; here they are escaped.
// Buttons carry the action id and value the chat adapters use, and the page's script posts them back.
import type { View } from '../core/views.ts';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Catalogue sentences use `code` spans (as in Slack mrkdwn); show them as <code>. */
function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function button(action: string, label: string, value: string): string {
  return `<button type="button" class="action" data-action="${escapeHtml(action)}" data-value="${escapeHtml(value)}">${escapeHtml(label)}</button>`;
}

export function renderViewHtml(view: View): string {
  switch (view.kind) {
    case 'notice':
      return `<p class="notice notice-${view.tone}" data-kind="notice" data-tone="${view.tone}">${inline(view.text)}</p>`;
    case 'help':
      return `<section class="help" data-kind="help"><h3>${escapeHtml(view.title)}</h3>${view.lines.map((l) => `<p>${inline(l)}</p>`).join('')}</section>`;
    case 'pick':
      return `<section class="pick" data-kind="pick"><p>${escapeHtml(view.intro)}</p><ul>${view.candidates.map((c) =>
        `<li data-customer-id="${escapeHtml(c.customerId)}"><strong>${escapeHtml(c.customerId)}</strong> <span>${escapeHtml(c.summary)}</span> ${button('customer_pick', c.button.label, c.button.value)}</li>`).join('')}</ul></section>`;
    case 'card':
      return renderCard(view);
  }
}

function renderCard(view: Extract<View, { kind: 'card' }>): string {
  const groups = view.groups.map((g) => `<section class="group" data-group="${escapeHtml(g.group)}"><h4>${escapeHtml(g.label)}</h4><dl>${g.fields.map((f) =>
    `<div class="field${f.masked ? ' masked' : ''}" data-field="${escapeHtml(f.field)}"><dt>${escapeHtml(f.label)}</dt><dd>${escapeHtml(f.value)}${f.masked ? ' <span class="badge" title="masked">•••</span>' : ''}</dd></div>`).join('')}</dl></section>`).join('');
  const actions = view.share ? `<div class="actions">${button('customer_share', view.share.label, view.share.value)}</div>` : '';
  return `<article class="card" data-kind="card" data-customer-id="${escapeHtml(view.customerId)}"><h3>${escapeHtml(view.title)}</h3>${groups}<footer>${escapeHtml(view.footer)}</footer>${actions}</article>`;
}
