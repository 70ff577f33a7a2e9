// HTML rendering of the neutral views (bot/core/views.ts) for the playground: the same cards the chat
// adapters show, as plain semantic HTML. Values are already masked by the core; here they are escaped.
// Buttons carry the action id and value the chat adapters use, and the page's script posts them back.
import type { View } from '../core/views.ts';
import type { PlaygroundView } from './approvals-flow.ts';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Catalogue sentences use `code` spans (as in Slack mrkdwn); show them as <code>. */
function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** `name`: what the button does when its action id alone does not say (an audit page: newer or older). */
function button(action: string, label: string, value: string, name?: string): string {
  return `<button type="button" class="action" data-action="${escapeHtml(action)}" data-value="${escapeHtml(value)}"${name ? ` data-name="${escapeHtml(name)}"` : ''}>${escapeHtml(label)}</button>`;
}

export function renderViewHtml(view: PlaygroundView): string {
  switch (view.kind) {
    case 'approval':
      return `<article class="approval" data-kind="approval" data-request-id="${escapeHtml(view.requestId)}" data-state="${escapeHtml(view.status.state)}"><h3>${escapeHtml(view.title)}</h3><dl>${view.lines.map((l) =>
        `<dt>${escapeHtml(l.label)}</dt><dd>${escapeHtml(l.value)}</dd>`).join('')}</dl><p class="status" role="status">${inline(view.status.text)}</p>${view.buttons.length ? `<div class="actions">${view.buttons.map((b) =>
        button(b.action === 'deny' ? 'approval_deny_open' : `approval_${b.action}`, b.label, b.value)).join(' ')}</div>` : ''}</article>`;
    case 'request_form':
      return `<form class="request-form" data-kind="request_form" data-action="approval_submit" data-value="${escapeHtml(view.metadata)}"><h3>${escapeHtml(view.title)}</h3><p>${escapeHtml(view.summary)}</p>`
        + (view.fieldOutcomes ? `<p class="field-outcomes">${escapeHtml(view.fieldOutcomes.label)}</p><ul>${view.fieldOutcomes.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>` : '')
        + `<label>${escapeHtml(view.reasonLabel)}<textarea name="purpose" required maxlength="500"></textarea></label>`
        + `<label>${escapeHtml(view.duration.label)}<input name="duration" type="number" min="1" max="${view.duration.max}" value="${view.duration.initial}" required></label>`
        + (view.groups ? `<fieldset><legend>${escapeHtml(view.groups.label)}</legend>${view.groups.options.map((o) =>
          `<label><input type="checkbox" name="groups" value="${escapeHtml(o.value)}"> ${escapeHtml(o.label)}</label>`).join(' ')}</fieldset>` : '')
        + `<button type="submit">${escapeHtml(view.submit)}</button></form>`;
    case 'deny_form':
      return `<form class="deny-form" data-kind="deny_form" data-action="approval_deny" data-value="${escapeHtml(view.metadata)}"><h3>${escapeHtml(view.title)}</h3>`
        + `<label>${escapeHtml(view.reasonLabel)}<textarea name="reason" required maxlength="500"></textarea></label><button type="submit">${escapeHtml(view.submit)}</button></form>`;
    case 'audit-table':
      return `<section class="audit" data-kind="audit-table"><h3>${escapeHtml(view.title)}</h3><p class="meta">${escapeHtml(view.header)}</p>`
        + (view.empty ? `<p>${escapeHtml(view.empty)}</p>` : `<ol class="audit-rows">${view.rows.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ol>`)
        + `<footer>${escapeHtml(view.footer)}</footer><div class="actions">${[
          view.newer ? button('audit_page', view.newer.label, view.newer.value, 'newer') : '',
          view.older ? button('audit_page', view.older.label, view.older.value, 'older') : '',
          view.export ? button('audit_export', view.export.label, view.export.value, 'export') : '',
        ].filter(Boolean).join(' ')}</div></section>`;
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
  const buttons = [
    ...(view.requests ?? []).map((r) => button(`approval_${r.kind}`, r.label, r.value)),
    ...(view.share ? [button('customer_share', view.share.label, view.share.value)] : []),
  ];
  const actions = buttons.length ? `<div class="actions">${buttons.join(' ')}</div>` : '';
  return `<article class="card" data-kind="card" data-customer-id="${escapeHtml(view.customerId)}"><h3>${escapeHtml(view.title)}</h3>${groups}<footer>${inline(view.footer).replace(/\n/g, '<br>')}</footer>${actions}</article>`;
}
