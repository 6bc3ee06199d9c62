/**
 * The dashboard's page, style and script: served by idlehook itself (no CDN, no build step on the user's side).
 * The script builds every element with textContent, never innerHTML: folder names, error messages and response
 * excerpts come from outside.
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>idlehook</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header><h1>idlehook</h1><span id="updated" aria-live="polite">loading…</span></header>
<form id="login" hidden>
  <p id="linkrefused" role="alert"></p>
  <label for="token">This idlehook has API tokens: open a login link (<code>idlehook dashboard</code>) or paste a token (<code>idlehook tokens create</code>)</label>
  <input id="token" type="password" autocomplete="off" required>
  <button type="submit">Open</button>
</form>
<main id="views" hidden>
  <section><h2>Queues</h2><div id="queues" class="cards"></div></section>
  <section><h2>Accounts</h2><p id="account-counts"></p><div class="scroll"><table id="accounts">
    <thead><tr><th>Account</th><th>Mailbox</th><th>State</th><th>Last UID</th><th>Last event</th><th>Last error</th><th>Next login attempt</th><th>Reported</th></tr></thead>
    <tbody></tbody></table></div></section>
  <section><h2>Subscriptions</h2><div class="scroll"><table id="subscriptions">
    <thead><tr><th>Subscription</th><th>URL</th><th>Receives</th><th>State</th><th>Failing since</th><th>Being retried</th><th>Dead letters</th></tr></thead>
    <tbody></tbody></table></div></section>
  <section><h2>Latest events</h2><div class="scroll"><table id="events">
    <thead><tr><th>Event</th><th>Type</th><th>Subscription</th><th>Attempts (status, duration, response)</th></tr></thead>
    <tbody></tbody></table></div></section>
  <section><h2>Dead letters</h2><p id="replayed" aria-live="polite"></p><div class="scroll"><table id="dead-letters">
    <thead><tr><th>Event</th><th>Type</th><th>Subscription</th><th>Failed at</th><th>Attempts</th><th>Reason</th><th></th></tr></thead>
    <tbody></tbody></table></div></section>
</main>
</body>
</html>
`;

export const DASHBOARD_CSS = `:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 0 12px 24px; max-width: 1200px; }
header { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap; }
h1 { font-size: 20px; margin: 12px 0; } h2 { font-size: 16px; margin: 20px 0 8px; }
#updated { color: GrayText; font-size: 12px; }
.cards { display: flex; gap: 8px; flex-wrap: wrap; }
.card { border: 1px solid GrayText; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 20px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid color-mix(in srgb, GrayText 40%, transparent); vertical-align: top; }
td { word-break: break-word; }
code, .id { font-family: ui-monospace, monospace; font-size: 12px; }
.state-idle, .state-delivered, .state-enabled { color: var(--ok); }
.state-error, .state-failed, .state-disabled { color: var(--bad); }
.state-failing, .state-retrying { color: var(--warn); }
button { font: inherit; padding: 2px 10px; cursor: pointer; }
form { display: flex; flex-direction: column; gap: 8px; max-width: 420px; margin: 24px 0; }
.empty { color: GrayText; }
.subject { font-weight: 600; } .from { color: GrayText; font-size: 12px; }
@media (max-width: 600px) { th, td { padding: 4px; } body { font-size: 13px; } }
`;

export const DASHBOARD_JS = `'use strict';
const POLL_MS = 2000;
let token = sessionStorage.getItem('idlehook-token') || '';

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}
function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.append(cell); else td.textContent = cell === null || cell === undefined ? '' : String(cell);
    tr.append(td);
  }
  return tr;
}
function fill(tableId, rows, emptyText) {
  const body = document.querySelector('#' + tableId + ' tbody');
  const columns = document.querySelectorAll('#' + tableId + ' thead th').length;
  body.replaceChildren(...rows);
  if (rows.length === 0) {
    const td = el('td', emptyText, 'empty'); td.colSpan = columns;
    const tr = document.createElement('tr'); tr.append(td); body.append(tr);
  }
}
function when(iso) { return iso ? new Date(iso).toLocaleString() : ''; }
function headers(extra) {
  const all = Object.assign({ 'x-idlehook-dashboard': '1' }, extra || {});
  if (token) all.authorization = 'Bearer ' + token;
  return all;
}

async function replay(filter, button) {
  button.disabled = true;
  const response = await fetch('/dashboard/replay', {
    method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(filter),
  });
  const outcome = response.ok ? await response.json() : null;
  document.getElementById('replayed').textContent = outcome
    ? 'Replayed: ' + outcome.delivered + ' delivered, ' + outcome.failed + ' failed.'
    : 'Replay failed (HTTP ' + response.status + ').';
  await refresh();
}

async function retryNow(subscriptionId, button) {
  button.disabled = true;
  const response = await fetch('/dashboard/retry-now', {
    method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify({ subscriptionId }),
  });
  const outcome = response.ok ? await response.json() : null;
  document.getElementById('replayed').textContent = outcome
    ? 'Retrying ' + outcome.retried + ' now.'
    : 'Retry failed (HTTP ' + response.status + ').';
  await refresh();
}

function render(state) {
  document.getElementById('queues').replaceChildren(
    ...Object.entries(state.queues).map(([name, depth]) => {
      const card = el('div', null, 'card'); card.append(el('b', depth), el('span', name + ' queue')); return card;
    }),
    (() => { const card = el('div', null, 'card'); card.append(el('b', state.deadLetters.length), el('span', 'dead letters')); return card; })(),
  );
  const counts = state.accountCounts;
  document.getElementById('account-counts').textContent = [
    counts.total + (counts.total === 1 ? ' account, ' : ' accounts, ') + counts.failing + ' failing' +
      (counts.failing > 0 ? ': ' + counts.failingIds.join(', ') + (counts.failing > counts.failingIds.length ? ' and ' + (counts.failing - counts.failingIds.length) + ' more.' : '.') : '.'),
    counts.total > state.accounts.length ? 'Below, the first ' + state.accounts.length + ' by id (the API pages through all of them).' : '',
  ].filter(Boolean).join(' ');
  const accountRows = [];
  for (const account of state.accounts) {
    const mailboxes = account.status.mailboxes.length ? account.status.mailboxes : [{ name: '', state: account.status.state }];
    for (const mailbox of mailboxes) {
      accountRows.push(row([
        el('span', account.id, 'id'), mailbox.name, el('span', mailbox.state, 'state-' + mailbox.state),
        mailbox.lastUid, when(mailbox.lastEventAt), mailbox.lastError || account.status.lastError,
        when(account.status.nextLoginAttemptAt),
        account.status.reportedAt ? when(account.status.reportedAt) : 'live',
      ]));
    }
    if (account.status.omittedMailboxes > 0) {
      accountRows.push(row([el('span', account.id, 'id'), account.status.omittedMailboxes + ' more, not reported']));
    }
  }
  fill('accounts', accountRows, 'No accounts yet: add one with idlehook init, the config file or the API.');

  fill('subscriptions', state.subscriptions.map((s) => {
    const letters = state.deadLetters.filter((l) => l.subscriptionId === s.id).length;
    const status = !s.health.enabled ? 'disabled' : s.health.failingSince ? 'failing' : 'enabled';
    const replayAll = el('button', 'Replay ' + letters);
    replayAll.dataset.replaySubscription = s.id;
    replayAll.disabled = letters === 0;
    replayAll.addEventListener('click', () => replay({ subscriptionId: s.id }, replayAll));
    const retrying = el('span', s.retrying.count + (s.retrying.nextAttemptAt ? ', next ' + when(s.retrying.nextAttemptAt) : ''));
    const cell = el('span');
    cell.append(retrying);
    if (s.retrying.count > 0) {
      const now = el('button', 'Retry now');
      now.dataset.retrySubscription = s.id;
      now.addEventListener('click', () => retryNow(s.id, now));
      cell.append(' ', now);
    }
    const receives = [
      s.events ? s.events.join(', ') : 'every event type',
      s.accounts ? 'of ' + s.accounts.join(', ') : 'of every account',
      ...(s.filter ? ['matching ' + JSON.stringify(s.filter)] : []),
    ].join('; ');
    return row([el('span', s.id, 'id'), s.url, receives, el('span', status + (s.health.disabledReason ? ': ' + s.health.disabledReason : ''), 'state-' + status),
      when(s.health.failingSince), cell, replayAll]);
  }), 'No subscriptions.');

  fill('events', state.events.flatMap((event) => event.deliveries.map((delivery) => {
    const attempts = el('ol');
    for (const a of delivery.attempts) {
      attempts.append(el('li', (a.status === null ? (a.error || 'no response') : 'HTTP ' + a.status) + ', ' + a.durationMs + ' ms'
        + (a.responseExcerpt ? ': ' + a.responseExcerpt : '') + ' (' + when(a.attemptedAt) + ')',
        a.succeeded ? 'state-delivered' : 'state-failed'));
    }
    const what = el('div');
    what.append(el('span', event.eventType));
    if (event.message) what.append(el('div', event.message.subject || '(no subject)', 'subject'), el('div', event.message.from || '', 'from'));
    const tr = row([el('span', event.eventId, 'id'), what, el('span', delivery.subscriptionId, 'id'), attempts]);
    tr.dataset.event = event.eventId;
    tr.dataset.outcome = delivery.outcome;
    return tr;
  })), 'No deliveries yet.');

  fill('dead-letters', state.deadLetters.map((l) => {
    const button = el('button', 'Replay');
    button.dataset.replayEvent = l.eventId;
    button.addEventListener('click', () => replay({ eventId: l.eventId, subscriptionId: l.subscriptionId }, button));
    return row([el('span', l.eventId, 'id'), l.eventType, el('span', l.subscriptionId, 'id'), when(l.failedAt), l.attempts, l.reason, button]);
  }), 'No dead letters.');
  document.getElementById('updated').textContent = 'updated ' + new Date(state.generatedAt).toLocaleTimeString();
}

async function refresh() {
  let response;
  try {
    response = await fetch('/dashboard/state', { headers: headers() });
  } catch {
    document.getElementById('updated').textContent = 'idlehook is not answering; retrying';
    return;
  }
  if (response.status === 401) {
    sessionStorage.removeItem('idlehook-token');
    document.getElementById('login').hidden = false;
    document.getElementById('views').hidden = true;
    document.getElementById('updated').textContent = token ? 'that token was refused' : 'a token is needed';
    return;
  }
  if (!response.ok) { document.getElementById('updated').textContent = 'HTTP ' + response.status; return; }
  document.getElementById('login').hidden = true;
  document.getElementById('views').hidden = false;
  render(await response.json());
}

document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  token = document.getElementById('token').value.trim();
  sessionStorage.setItem('idlehook-token', token);
  refresh();
});

// A login link (idlehook dashboard) carries a one-time code in its fragment, which no server or log sees. It is
// taken out of the address bar at once, then traded for a token kept for this tab only.
async function logInFromLink() {
  const code = new URLSearchParams(location.hash.slice(1)).get('login');
  if (!code) return;
  history.replaceState(null, '', location.pathname + location.search);
  const response = await fetch('/dashboard/login', {
    method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify({ code }),
  }).catch(() => null);
  const answer = response ? await response.json().catch(() => null) : null;
  if (response && response.ok && answer && answer.token) {
    token = answer.token;
    sessionStorage.setItem('idlehook-token', token);
  } else {
    document.getElementById('linkrefused').textContent = (answer && answer.detail) || 'that login link did not work';
  }
}
logInFromLink().finally(() => {
  refresh();
  setInterval(refresh, POLL_MS);
});
`;
