// The student page: one's own dormitory on a phone. Balances, circuits and the ledger come from
// the REST API; while the page is open the live feed (scoped by the server to this student's
// dormitory) keeps the state, power, balances and circuits current. Every word goes through
// i18n.js (zh-CN / en), times in the campus time zone.
import { api, ApiError, clearSession, connectLive, el, loadSession, login, parseYuan } from './client.js';
import { formatDateTime, formatMoney, formatNumber, formatPower, initI18n, onLocaleChange, setTimeZone, t } from './i18n.js';
import common from './locales/common.js';
import student from './locales/student.js';

initI18n(common, student);

const $ = (id) => document.getElementById(id);
const CIRCUIT_ORDER = ['lighting', 'socket', 'ac'];
const PURSES = ['electricity', 'water'];

const page = { dormitory: null, live: null, liveState: null, ledger: [], message: null };

function showLogin(messageKey) {
  if (page.live) page.live.close();
  page.live = null;
  $('room-view').hidden = true;
  $('login-view').hidden = false;
  setLoginError(messageKey ? { key: messageKey } : null);
}

/** @param {{ key?: string, text?: string } | null} error */
function setLoginError(error) {
  $('login-error').hidden = !error;
  $('login-error').textContent = error ? (error.key ? t(error.key) : error.text || '') : '';
}

/** A page-level message, kept as a key so a language switch re-renders it. */
function message(key) {
  page.message = key;
  $('room-message').hidden = !key;
  $('room-message').textContent = key ? t(key) : '';
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
    showLogin();
    setLoginError({ text: error instanceof ApiError ? error.message : String(error) });
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
  const amount = parseYuan($('pay-amount').value);
  const note = $('pay-message');
  note.hidden = false;
  if (amount === null) {
    note.textContent = t('student.enterAmount');
    return;
  }
  try {
    const payment = await api('POST', '/api/me/payments', { purse: $('pay-purse').value, amount });
    note.textContent = t('student.paymentStarted', { reference: payment.reference });
    note.dataset.reference = payment.reference;
    window.open(payment.payUrl, '_blank', 'noopener');
  } catch (error) {
    note.textContent = error instanceof ApiError ? error.message : String(error);
  }
});

async function showRoom(session) {
  $('login-view').hidden = true;
  $('room-view').hidden = false;
  if (session.role !== 'student') {
    message('student.staffHere');
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
        showLogin('common.sessionEnded');
      },
    });
  }
}

async function loadRoom() {
  try {
    const list = await api('GET', '/api/dormitories');
    const own = list.items[0];
    if (!own) {
      message('student.noRoom');
      return;
    }
    const [detail, ledger] = await Promise.all([api('GET', `/api/dormitories/${encodeURIComponent(own.id)}`), api('GET', `/api/dormitories/${encodeURIComponent(own.id)}/ledger?pageSize=20`)]);
    if (detail.timeZone) setTimeZone(detail.timeZone);
    page.dormitory = detail;
    page.ledger = ledger.items;
    render();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      clearSession();
      showLogin('common.sessionEnded');
      return;
    }
    $('room-message').hidden = false;
    $('room-message').textContent = error.message;
  }
}

/** Everything from the last REST answer and live state; run again on a language switch. */
function render() {
  const detail = page.dormitory;
  if (!detail) return;
  const live = page.liveState;
  $('room-title').textContent = t('student.room', { room: detail.room });
  $('room-subtitle').textContent = t('student.subtitle', { building: detail.buildingName || detail.building, floor: detail.floor, id: detail.id });
  setState(live ? live.state : detail.state);
  setBalances(live ? live.balance : detail.balance);
  renderDaysLeft(detail.daysLeft);
  renderCircuits(live ? live.circuits : detail.circuits || []);
  if (live) {
    $('room-power').textContent = t('student.powerNow', { power: formatPower(live.powerW) });
    $('room-live').textContent = live.online ? t('student.live') : t('student.meterOffline');
  }
  renderLedger(page.ledger);
  if (page.message) message(page.message);
}

function setState(state) {
  $('room-state').dataset.state = state || '';
  $('room-state').textContent = state ? t(`state.${state}`) : '';
}

function setBalances(balance) {
  if (!balance) return;
  for (const purse of PURSES) {
    const node = $(`balance-${purse}`);
    node.textContent = formatMoney(balance[purse]);
    node.classList.toggle('negative', balance[purse] < 0);
  }
}

function renderDaysLeft(daysLeft) {
  for (const purse of PURSES) {
    const estimate = daysLeft && daysLeft[purse];
    $(`days-${purse}`).textContent = !estimate ? '' : estimate.days === null ? t('student.daysUnknown') : t('student.daysLeft', { days: formatNumber(estimate.days, { maximumFractionDigits: 1 }) });
  }
}

function renderCircuits(circuits) {
  const sorted = [...circuits].sort((a, b) => CIRCUIT_ORDER.indexOf(a.kind) - CIRCUIT_ORDER.indexOf(b.kind));
  $('circuits').replaceChildren(
    ...sorted.map((c) => {
      const supply = c.supply || 'unknown';
      return el(
        'li',
        { dataset: { circuit: c.kind } },
        el('span', { class: 'circuit-name' }, t(`circuit.${c.kind}`)),
        el('span', { class: 'circuit-power muted' }, c.powerW === undefined ? '' : formatPower(c.powerW)),
        el('span', { class: 'supply', dataset: { supply } }, t(`supply.${supply}`)),
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
        el('div', {}, el('strong', {}, t(`ledger.${entry.kind}`)), el('span', { class: 'muted small' }, ` ${t(`purse.${entry.purse}`)}`), el('div', { class: 'muted small' }, formatDateTime(entry.occurredAt))),
        el(
          'div',
          { class: 'ledger-amounts' },
          el('strong', { class: entry.amount < 0 ? 'debit' : 'credit' }, formatMoney(entry.amount, { signed: true })),
          el('span', { class: 'muted small' }, t('student.balanceAfter', { amount: formatMoney(entry.balanceAfter) })),
        ),
      ),
    ),
  );
  if (items.length === 0) $('ledger').append(el('li', { class: 'muted' }, t('student.noActivity')));
}

/** Live updates: the server sends only this student's dormitory. */
function onLive(dormitories) {
  const own = page.dormitory && dormitories.find((d) => d.id === page.dormitory.id);
  if (!own) return;
  page.liveState = own;
  render();
}

onLocaleChange(() => {
  render();
  if (!$('login-error').hidden && !$('login-error').textContent) setLoginError(null);
});

const session = loadSession();
if (session) void showRoom(session);
else showLogin();
