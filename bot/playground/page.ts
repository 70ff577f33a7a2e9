// The playground's single page: a loud local-use warning, the employee picker (from the directory), the
// conversation choice, the message box and the conversation log. Works with the small script in
// assets.ts; no framework, nothing loaded from elsewhere (the Content-Security-Policy says 'self').
import './messages.ts';
import type { Employee } from '../core/domain.ts';
import { t, type Locale } from '../core/messages.ts';
import { PLAYGROUND_CHANNELS } from './flow.ts';
import { escapeHtml } from './html.ts';

export const ASSET_CSS = '/playground/app.css';
export const ASSET_JS = '/playground/app.js';

/** The tab icon (served at /favicon.ico, where browsers ask for it): a shield in the page's accent colour. */
export const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1 2 3v5c0 3.5 2.6 6 6 7 3.4-1 6-3.5 6-7V3z" fill="#1d6fb8"/></svg>';

function employeeLabel(e: Employee): string {
  const status = e.status === 'active' ? '' : ` [${e.status}]`;
  return `${e.name} · ${e.employeeId} · ${e.department} ${e.roles.join('/')} · ${e.region}${e.external ? ' · external' : ''}${status}`;
}

function employeeOptions(employees: Employee[], selected?: string): string {
  const byDept = new Map<string, Employee[]>();
  for (const e of employees) byDept.set(e.department, [...(byDept.get(e.department) ?? []), e]);
  return [...byDept].map(([dept, list]) => `<optgroup label="${escapeHtml(dept)}">${list.map((e) =>
    `<option value="${escapeHtml(e.employeeId)}"${e.employeeId === selected ? ' selected' : ''}>${escapeHtml(employeeLabel(e))}</option>`).join('')}</optgroup>`).join('');
}

export function renderPage(employees: Employee[], locale: Locale): string {
  const first = employees.find((e) => e.status === 'active')?.employeeId;
  const channels = PLAYGROUND_CHANNELS.map((c) => `<option value="${c}">${escapeHtml(t(`playground.channel.${c}`, locale))}</option>`).join('');
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(t('playground.title', locale))}</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="${ASSET_CSS}">
<script type="module" src="${ASSET_JS}"></script>
</head>
<body data-working="${escapeHtml(t('playground.working', locale))}" data-revealed="${escapeHtml(t('playground.revealed', locale))}" data-reveal-expired="${escapeHtml(t('playground.revealExpired', locale))}" data-you="${escapeHtml(t('playground.you', locale))}" data-in-channel="${escapeHtml(t('playground.inChannel', locale))}" data-failed="${escapeHtml(t('playground.failed', locale))}" data-inbox="${escapeHtml(t('playground.inbox', locale))}">
<header>
<h1>${escapeHtml(t('playground.title', locale))}</h1>
<p class="warning" role="alert" id="local-only">${escapeHtml(t('playground.warning', locale))}</p>
</header>
<main>
<form id="context" class="context">
<label for="who">${escapeHtml(t('playground.who', locale))}</label>
<select id="who" name="employeeId">${employeeOptions(employees, first)}</select>
<label for="channel">${escapeHtml(t('playground.where', locale))}</label>
<select id="channel" name="channel">${channels}</select>
<fieldset id="members-box" hidden>
<legend>${escapeHtml(t('playground.members', locale))}</legend>
<select id="members" name="members" multiple size="6" aria-label="${escapeHtml(t('playground.members', locale))}">${employeeOptions(employees)}</select>
</fieldset>
</form>
<section id="log-section" aria-labelledby="log-title">
<h2 id="log-title">${escapeHtml(t('playground.log', locale))}</h2>
<ol id="log" aria-live="polite"></ol>
</section>
<form id="composer" class="composer">
<label for="text">${escapeHtml(t('playground.message', locale))}</label>
<input id="text" name="text" autocomplete="off" required maxlength="500" placeholder="${escapeHtml(t('playground.placeholder', locale))}">
<button type="submit" id="send">${escapeHtml(t('playground.send', locale))}</button>
<span id="progress" class="progress" role="status" aria-live="polite" hidden>${escapeHtml(t('playground.working', locale))}</span>
</form>
</main>
</body>
</html>
`;
}
