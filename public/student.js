// The student page: one's own dormitory on a phone. Balances, circuits and the ledger come from
// the REST API; while the page is open the live feed (scoped by the server to this student's
// dormitory) keeps the state, power and circuits current.
import { api, ApiError, CIRCUIT_LABELS, clearSession, connectLive, el, loadSession, login, STATE_LABELS, watts, yuan } from './client.js';

const $ = (id) => document.getElementById(id);

const LEDGER_KINDS = {
  recharge: 'Recharge',
  refund: 'Refund',
  consumption_charge: 'Usage',
  quota_grant: 'Free quota',
  quota_expiry: 'Free quota lapsed',
  adjustment: 'Adjustment',
  settlement: 'Settlement',
};

const page = { dormitory: null, live: null };

function showLogin(message) {
  if (page.live) page.live.close();
  page.live = null;
  $('room-view').hidden = true;
  $('login-view').hidden = false;
  $('login-error').hidden = !message;
  $('login-error').textContent = message || '';
}

function message(text) {
  $('room-message').hidden = !text;
  $('room-message').textContent = text || '';
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = event.submitter || $('login-form').querySelector('button');
  button.disabled = true;
  try {
    const session = await login($('username').value.trim(), $('password').value);
    $('password').value = '';
    await showRoom(session);
  } catch (error) {
    showLogin(error instanceof ApiError ? error.message : String(error));
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', () => {
  clearSession();
  showLogin();
});

$('refresh').addEventListener('click', () => void loadRoom());

// Online recharge (docs/payments.md): the server answers the provider's pay URL; the credit
// arrives on the live feed when the provider's signed notification reaches the server.
$('pay-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const amount = Math.round(Number($('pay-amount').value) * 100);
  const note = $('pay-message');
  note.hidden = false;
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    note.textContent = 'Enter an amount in yuan.';
    return;
  }
  try {
    const payment = await api('POST', '/api/me/payments', { purse: $('pay-purse').value, amount });
    note.textContent = `Payment ${payment.reference} started: finish it in the window that opened. The balance updates by itself once paid.`;
    window.open(payment.payUrl, '_blank', 'noopener');
  } catch (error) {
    note.textContent = error instanceof ApiError ? error.message : String(error);
  }
});

async function showRoom(session) {
  $('login-view').hidden = true;
  $('room-view').hidden = false;
  if (session.role !== 'student') {
    message('This page shows a student’s own room. Staff: open the control room at /.');
    return;
  }
  await loadRoom();
  if (page.dormitory && !page.live) {
    page.live = connectLive({
      onSnapshot: onLive,
      onDiff: onLive,
      onStatus: () => undefined,
      onUnauthorized: () => {
        clearSession();
        showLogin('Your session has ended. Please sign in again.');
      },
    });
  }
}

async function loadRoom() {
  try {
    const list = await api('GET', '/api/dormitories');
    const own = list.items[0];
    if (!own) {
      message('No room is linked to this account. Ask the dormitory office.');
      return;
    }
    const [detail, ledger] = await Promise.all([api('GET', `/api/dormitories/${encodeURIComponent(own.id)}`), api('GET', `/api/dormitories/${encodeURIComponent(own.id)}/ledger?pageSize=20`)]);
    page.dormitory = detail;
    $('room-title').textContent = `Room ${detail.room}`;
    $('room-subtitle').textContent = `${detail.buildingName || detail.building} · floor ${detail.floor} · ${detail.id}`;
    setState(detail.state);
    setBalances(detail.balance);
    renderCircuits(detail.circuits || []);
    renderLedger(ledger.items);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      clearSession();
      showLogin('Your session has ended. Please sign in again.');
      return;
    }
    message(error.message);
  }
}

function setState(state) {
  $('room-state').dataset.state = state || '';
  $('room-state').textContent = STATE_LABELS[state] || state || '';
}

function setBalances(balance) {
  if (!balance) return;
  for (const purse of ['electricity', 'water']) {
    const node = $(`balance-${purse}`);
    node.textContent = yuan(balance[purse]);
    node.classList.toggle('negative', balance[purse] < 0);
  }
}

function renderCircuits(circuits) {
  const order = Object.keys(CIRCUIT_LABELS);
  const sorted = [...circuits].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  $('circuits').replaceChildren(
    ...sorted.map((c) => {
      const supply = c.supply || 'unknown';
      return el(
        'li',
        { dataset: { circuit: c.kind } },
        el('span', { class: 'circuit-name' }, CIRCUIT_LABELS[c.kind] || c.kind),
        el('span', { class: 'circuit-power muted' }, c.powerW === undefined ? '' : watts(c.powerW)),
        el('span', { class: 'supply', dataset: { supply } }, supply),
        c.cutReason ? el('span', { class: 'circuit-reason muted small' }, c.cutReason) : null,
      );
    }),
  );
}

function renderLedger(items) {
  $('ledger').replaceChildren(
    ...items.map((entry) =>
      el(
        'li',
        { class: 'ledger-entry', dataset: { kind: entry.kind } },
        el('div', {}, el('strong', {}, LEDGER_KINDS[entry.kind] || entry.kind), el('span', { class: 'muted small' }, ` ${entry.purse}`), el('div', { class: 'muted small' }, new Date(entry.occurredAt).toLocaleString())),
        el('div', { class: 'ledger-amounts' }, el('strong', { class: entry.amount < 0 ? 'debit' : 'credit' }, `${entry.amount > 0 ? '+' : ''}${yuan(entry.amount)}`), el('span', { class: 'muted small' }, `bal. ${yuan(entry.balanceAfter)}`)),
      ),
    ),
  );
  if (items.length === 0) $('ledger').append(el('li', { class: 'muted' }, 'No activity yet'));
}

/** Live updates: the server sends only this student's dormitory. */
function onLive(dormitories) {
  const own = page.dormitory && dormitories.find((d) => d.id === page.dormitory.id);
  if (!own) return;
  setState(own.state);
  setBalances(own.balance);
  renderCircuits(own.circuits);
  $('room-power').textContent = `· ${watts(own.powerW)} now`;
  $('room-live').textContent = own.online ? 'live' : 'meter offline';
}

const session = loadSession();
if (session) void showRoom(session);
else showLogin();
