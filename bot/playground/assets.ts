// The page's stylesheet and script, served from the bot (no CDN, no build step). The script posts the
// message box and every button back as JSON and appends the rendered replies to the log.

export const APP_CSS = `
:root { color-scheme: light dark; --accent: #1d6fb8; --warn: #8a1c1c; --muted: #666; }
* { box-sizing: border-box; }
/* The page is one viewport tall: the conversation scrolls in its own box between the header and the
   message box, so the composer never lies over a card's buttons (a sticky footer over a scrolling page does). */
html, body { height: 100%; }
body { font: 15px/1.5 system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; display: flex; flex-direction: column; }
main { flex: 1 1 auto; min-height: 0; display: flex; flex-direction: column; }
#log-section { flex: 1 1 auto; min-height: 12rem; overflow-y: auto; overscroll-behavior: contain; }
#log-section h2 { position: sticky; top: 0; background: Canvas; margin: 0; padding: .3rem 0; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; }
.warning { border: 3px solid var(--warn); color: var(--warn); background: #fff3f3; padding: .6rem .8rem; font-weight: 600; }
.context, .composer { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.composer { flex: none; background: Canvas; padding: .5rem 0; border-top: 1px solid #ccc; }
.progress { color: var(--muted); }
.progress::before { content: ""; display: inline-block; width: .8em; height: .8em; margin-right: .3em; border: 2px solid var(--accent); border-right-color: transparent; border-radius: 50%; animation: spin .8s linear infinite; vertical-align: -.1em; }
@keyframes spin { to { transform: rotate(360deg); } }
button:disabled { opacity: .55; cursor: progress; }
.reveal-note { display: block; color: #1f7a3a; font-size: .85rem; }
.composer input { flex: 1 1 20rem; padding: .5rem; font: inherit; }
select, button { font: inherit; padding: .35rem .6rem; }
button { cursor: pointer; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; }
button:focus-visible, select:focus-visible, input:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
#log { list-style: none; padding: 0; }
#log > li { margin: .6rem 0; padding: .6rem .8rem; border-radius: 6px; border: 1px solid #ccc; overflow-wrap: anywhere; word-break: break-word; }
#log code, .audit-rows li { overflow-wrap: anywhere; }
#log > li.from-user { background: #eef5fc; border-color: #b9d3ee; }
#log > li.to-channel { border-left: 6px solid var(--accent); }
#log > li.in-inbox { border-left: 6px solid #6a3fb5; }
.approval dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; }
.request-form label, .deny-form label { display: block; margin: .3rem 0; }
.request-form textarea, .deny-form textarea { display: block; width: 100%; min-height: 3rem; font: inherit; }
.audit-rows { font-family: ui-monospace, monospace; font-size: .85rem; }
.meta { color: var(--muted); font-size: .85rem; }
.card h3 { margin: 0 0 .4rem; }
.card h4 { margin: .5rem 0 .2rem; font-size: .95rem; }
.card dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0; }
.card .field { display: contents; }
.card dt { font-weight: 600; }
.card dd { margin: 0; }
.card footer { color: var(--muted); font-size: .85rem; margin-top: .5rem; }
.badge { font-size: .75rem; color: var(--muted); }
.notice-refusal { color: var(--warn); }
.notice-error { color: var(--warn); font-weight: 600; }
.pick ul { padding-left: 1rem; }
fieldset { border: 1px solid #ccc; }
`;

export const APP_JS = `
const $ = (id) => document.getElementById(id);
const body = document.body;
// The last inbox seq shown, per employee: a reload starts at 0, so the whole inbox (pending cards too) shows again.
const cursors = new Map();
let inFlight = 0;

function context() {
  const channel = $('channel').value;
  const members = channel === 'dm' ? [] : [...$('members').selectedOptions].map((o) => o.value);
  return { employeeId: $('who').value, channel, members };
}

function busy(delta) {
  inFlight += delta;
  $('send').disabled = inFlight > 0;
  $('progress').hidden = inFlight === 0;
  $('log').setAttribute('aria-busy', String(inFlight > 0));
}

function append(html, cls, meta, ref, again, employeeId) {
  // An updated card replaces its earlier copy in place, as chat clients update a message; shown "again"
  // (the pending command) it moves to the bottom.
  const old = ref ? document.querySelector('#log > li[data-ref="' + CSS.escape(ref) + '"]') : null;
  const li = document.createElement('li');
  if (ref) li.dataset.ref = ref;
  // Whose answer this is: a reveal goes onto the requester's own card, not a colleague's of the same customer.
  if (employeeId) li.dataset.employee = employeeId;
  li.className = cls;
  if (meta) { const m = document.createElement('div'); m.className = 'meta'; m.textContent = meta; li.append(m); }
  const content = document.createElement('div');
  content.innerHTML = html; // server-rendered and escaped (bot/playground/html.ts)
  li.append(content);
  if (old && !again) old.replaceWith(li); else { old?.remove(); $('log').append(li); }
  noteReveal(li);
  li.scrollIntoView({ block: 'nearest' });
}

/**
 * An approved one-time reveal shows the value in place, on the newest card of that customer the requester
 * was shown (as Slack and Lark replace the card; the item carries that card as a new lookup shows it, kept
 * in the inbox only when no such card is on the page): the masked text is kept aside, the value put in with the
 * grant line under it; at expiry the masked text comes back. Values are set as text, never as HTML.
 */
function noteReveal(li) {
  const r = li.querySelector('[data-reveal-customer]');
  if (!r) return;
  const mine = '#log > li[data-employee="' + CSS.escape($('who').value) + '"] ';
  const cards = document.querySelectorAll(mine + 'article.card[data-customer-id="' + CSS.escape(r.dataset.revealCustomer) + '"]');
  const field = cards[cards.length - 1]?.querySelector('[data-field="' + CSS.escape(r.dataset.revealField) + '"]');
  const dd = field?.querySelector('dd');
  if (!dd) return;
  if (dd.dataset.masked === undefined && field.classList.contains('masked')) dd.dataset.masked = dd.firstChild?.textContent ?? '';
  const revealed = r.dataset.revealed === 'yes';
  dd.replaceChildren(document.createTextNode(revealed ? r.dataset.revealValue ?? '' : dd.dataset.masked ?? ''));
  field.classList.toggle('masked', !revealed);
  field.classList.toggle('revealed', revealed);
  const note = document.createElement('span');
  note.className = 'reveal-note';
  note.textContent = r.dataset.revealNote ?? (revealed ? body.dataset.revealed : body.dataset.revealExpired);
  dd.append(note);
  // Shown in place: the item's own copy of the card (for a page without that card) is not shown twice.
  li.querySelector('article.card')?.remove();
}

function showInbox(employeeId, answer) {
  if (employeeId !== $('who').value) return; // switched meanwhile: that person's fetch shows it
  for (const i of answer.inbox || []) append(i.html, 'from-bot in-inbox', body.dataset.inbox + ' · ' + ($('who').selectedOptions[0]?.textContent ?? '').split(' · ')[0], i.ref, i.again);
  if (typeof answer.cursor === 'number') cursors.set(employeeId, Math.max(cursors.get(employeeId) ?? 0, answer.cursor));
}

async function fetchInbox() {
  const employeeId = $('who').value;
  try {
    const res = await fetch('/playground/api/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId, after: cursors.get(employeeId) ?? 0 }) });
    if (res.ok) showInbox(employeeId, await res.json());
  } catch { /* the next request shows it */ }
}

async function post(path, payload, button) {
  const ctx = context();
  busy(1);
  if (button) button.disabled = true;
  try {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ctx, after: cursors.get(ctx.employeeId) ?? 0, ...payload }) });
    const answer = await res.json();
    if (!res.ok || !Array.isArray(answer.replies)) throw new Error('request failed');
    for (const r of answer.replies) {
      append(r.html, r.to === 'channel' ? 'from-bot to-channel' : 'from-bot to-you', (r.to === 'channel' ? body.dataset.inChannel : body.dataset.you) + ' · ' + answer.requestId, undefined, undefined, ctx.employeeId);
    }
    showInbox(ctx.employeeId, answer);
    // A decision or a submitted form is final (its card is updated); other buttons may be used again.
    if (button && !/^approval_(approve|deny|submit|cancel)$/.test(payload.action)) button.disabled = false;
  } catch {
    append('<p class="notice notice-error">' + body.dataset.failed + '</p>', 'from-bot', '');
    if (button) button.disabled = false;
  } finally {
    busy(-1);
  }
}

$('who').addEventListener('change', fetchInbox);
setInterval(fetchInbox, 3000);
fetchInbox();

$('log').addEventListener('submit', (e) => {
  const f = e.target.closest('form[data-action]');
  if (!f) return;
  e.preventDefault();
  const data = new FormData(f);
  const form = {};
  for (const [k, v] of data) { if (k === 'groups') (form.groups ??= []).push(v); else form[k] = v; }
  post('/playground/api/action', { action: f.dataset.action, value: f.dataset.value, form }, f.querySelector('button[type=submit]'));
});

$('channel').addEventListener('change', () => { $('members-box').hidden = $('channel').value === 'dm'; });

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (!text || inFlight > 0) return;
  const who = $('who').selectedOptions[0]?.textContent ?? '';
  const li = document.createElement('li');
  li.className = 'from-user';
  li.textContent = who.split(' · ')[0] + ': ' + text;
  $('log').append(li);
  li.scrollIntoView({ block: 'nearest' });
  $('text').value = '';
  post('/playground/api/message', { text });
});

$('log').addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  post('/playground/api/action', { action: b.dataset.action, value: b.dataset.value }, b);
});
`;
