// The student page: one's own dormitory on a phone. Balances, circuits and the ledger come from
// the REST API; while the page is open the live feed (scoped by the server to this student's
// dormitory) keeps the state, power, balances and circuits current. Every word goes through
// i18n.js (zh-CN / en), times in the campus time zone.
import { api, ApiError, clearSession, connectLive, el, loadSession, login, parseYuan } from './client.js';
import { campusDay, formatDateTime, formatDay, formatEnergy, formatMoney, formatNumber, formatPower, initI18n, onLocaleChange, setTimeZone, t } from './i18n.js';
import common from './locales/common.js';
import student from './locales/student.js';

initI18n(common, student);

const $ = (id) => document.getElementById(id);
const CIRCUIT_ORDER = ['lighting', 'socket', 'ac'];
const PURSES = ['electricity', 'water'];

const LEDGER_PAGE_SIZE = 20;
const USAGE_DAYS = 14;
/** uPlot, served by this server from node_modules (never a CDN). */
const UPLOT_URL = '/vendor/uplot/uPlot.esm.js';

const page = { dormitory: null, live: null, liveState: null, ledger: [], ledgerPage: 1, ledgerCursors: [null], ledgerNext: null, usage: null, usageError: null, notifications: [], unread: 0, message: null, chart: null, refreshTimer: 0 };

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
$('ledger-prev').addEventListener('click', () => void loadLedger(page.ledgerPage - 1));
$('ledger-next').addEventListener('click', () => {
  // The next page starts below this page's last row (keyset): its cursor is kept for "previous".
  if (page.ledgerNext === null) return;
  page.ledgerCursors[page.ledgerPage] = page.ledgerNext;
  void loadLedger(page.ledgerPage + 1);
});
$('notifications-read').addEventListener('click', async () => {
  await api('POST', '/api/notifications/read-all', {}).catch(() => undefined);
  await loadNotifications();
});

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
    const detail = await api('GET', `/api/dormitories/${encodeURIComponent(own.id)}`);
    if (detail.timeZone) setTimeZone(detail.timeZone);
    page.dormitory = detail;
    render();
    await Promise.all([loadLedger(page.ledgerPage), loadUsage(), loadNotifications()]);
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

/** The room's REST view again (days left, quota), keeping the live state. */
async function loadDetail() {
  if (!page.dormitory) return;
  page.dormitory = await api('GET', `/api/dormitories/${encodeURIComponent(page.dormitory.id)}`);
  render();
}

/**
 * A page of the room's ledger as the server folds it (`fold=free-usage-by-day`: a day's free-quota
 * usage of a purse is one row), paged by keyset: page N starts below the last row of page N-1
 * (`ledgerCursors[N-1]`, the server's `next`), so a page is always a full page of rows.
 */
async function loadLedger(pageNumber) {
  if (!page.dormitory) return;
  const wanted = Math.min(Math.max(1, pageNumber), page.ledgerCursors.length);
  const before = page.ledgerCursors[wanted - 1];
  const ledger = await api('GET', `/api/dormitories/${encodeURIComponent(page.dormitory.id)}/ledger?fold=free-usage-by-day&pageSize=${LEDGER_PAGE_SIZE}${before ? `&before=${before}` : ''}`);
  page.ledger = ledger.items;
  page.ledgerNext = ledger.next;
  page.ledgerPage = wanted;
  page.ledgerCursors.length = wanted;
  renderLedger();
}

async function loadUsage() {
  try {
    page.usage = await api('GET', `/api/me/usage?days=${USAGE_DAYS}`);
    page.usageError = null;
  } catch (error) {
    page.usage = null;
    page.usageError = error.message;
  }
  renderUsage();
}

async function loadNotifications() {
  try {
    const [list, unread] = await Promise.all([api('GET', '/api/notifications?pageSize=10'), api('GET', '/api/notifications/unread-count')]);
    page.notifications = list.items;
    page.unread = unread.unread;
  } catch {
    page.notifications = [];
    page.unread = 0;
  }
  renderNotifications();
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
  renderLedger();
  renderQuota();
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

function renderLedger() {
  const rows = page.ledger;
  $('ledger').replaceChildren(
    ...rows.map((row) =>
      row.fold
        ? el(
            'li',
            { class: 'ledger-entry ledger-group', dataset: { kind: 'free_usage', day: row.fold.day } },
            el('div', {}, el('strong', {}, t('student.freeUsage')), el('span', { class: 'muted small' }, ` ${t(`purse.${row.purse}`)}`), el('div', { class: 'muted small' }, formatDay(row.fold.day))),
            el(
              'div',
              { class: 'ledger-amounts' },
              el('strong', { class: 'muted' }, t('student.freeUsageDetail', { count: row.fold.entries, energy: row.purse === 'water' ? `${formatNumber(row.usage ?? 0)} L` : formatEnergy(row.usage ?? 0) })),
              el('span', { class: 'muted small' }, t('student.balanceAfter', { amount: formatMoney(row.balanceAfter) })),
            ),
          )
        : el(
            'li',
            { class: 'ledger-entry', dataset: { kind: row.kind } },
            el('div', {}, el('strong', {}, t(`ledger.${row.kind}`)), el('span', { class: 'muted small' }, ` ${t(`purse.${row.purse}`)}`), el('div', { class: 'muted small' }, formatDateTime(row.occurredAt))),
            el(
              'div',
              { class: 'ledger-amounts' },
              el('strong', { class: row.amount < 0 ? 'debit' : 'credit' }, formatMoney(row.amount, { signed: true })),
              el('span', { class: 'muted small' }, t('student.balanceAfter', { amount: formatMoney(row.balanceAfter) })),
            ),
          ),
    ),
  );
  if (rows.length === 0) $('ledger').append(el('li', { class: 'muted' }, t('student.noActivity')));
  $('ledger-page').textContent = t('common.page', { page: page.ledgerPage });
  $('ledger-prev').disabled = page.ledgerPage <= 1;
  $('ledger-next').disabled = page.ledgerNext === null;
}

/** The free quota left in its period (GET /api/dormitories/:id `quota`), for a purse with a policy. */
function renderQuota() {
  const quota = page.dormitory && page.dormitory.quota;
  for (const purse of PURSES) {
    const q = quota && quota[purse];
    $(`quota-${purse}`).textContent = q && q.policyId ? t('student.quotaLeftWh', { amount: purse === 'water' ? `${formatNumber(q.remaining)} L` : formatEnergy(q.remaining, { digits: 1 }) }) : '';
  }
}

function renderUsage() {
  const usage = page.usage;
  const note = $('usage-note');
  note.hidden = !page.usageError;
  note.textContent = page.usageError ? t('student.usageUnavailable', { message: page.usageError }) : '';
  const days = usage ? usage.days : [];
  $('usage-table').tBodies[0].replaceChildren(
    ...[...days].reverse().map((d) =>
      el('tr', { dataset: { day: campusDay(d.start) } }, el('td', {}, formatDateTime(d.start, 'day')), el('td', {}, formatNumber(d.energyWh / 1000, { maximumFractionDigits: 2 })), el('td', {}, formatMoney(d.costFen ?? 0))),
    ),
  );
  const circuits = usage ? usage.circuits : [];
  const totals = circuits.map((c) => c.energyWh.reduce((sum, wh) => sum + wh, 0));
  const most = Math.max(1, ...totals);
  $('usage-circuits').replaceChildren(
    ...circuits
      .map((c, i) => ({ c, total: totals[i] }))
      .sort((a, b) => CIRCUIT_ORDER.indexOf(a.c.kind) - CIRCUIT_ORDER.indexOf(b.c.kind))
      .map(({ c, total }) =>
        el(
          'li',
          { dataset: { circuit: c.kind } },
          el('span', { class: 'circuit-name' }, t(`circuit.${c.kind}`)),
          el('span', { class: 'usage-bar' }, barFill(total / most)),
          el('span', { class: 'usage-total' }, formatEnergy(total, { digits: 1 })),
        ),
      ),
  );
  void drawChart(days, circuits);
}

/** A bar's fill; set through CSSOM, which the page's CSP allows (a style attribute it does not). */
function barFill(share) {
  const fill = el('span', { class: 'usage-bar-fill' });
  fill.style.width = `${Math.round(share * 100)}%`;
  return fill;
}

/** kWh per day as bars and each circuit as a line (uPlot); the table above holds the same numbers. */
async function drawChart(days, circuits) {
  const box = $('usage-chart');
  if (days.length === 0) {
    box.replaceChildren();
    return;
  }
  let uPlot;
  try {
    uPlot = (await import(UPLOT_URL)).default;
  } catch {
    $('usage-note').hidden = false;
    $('usage-note').textContent = t('student.chartUnavailable');
    return;
  }
  if (!document.querySelector('link[data-uplot]')) document.head.append(el('link', { rel: 'stylesheet', href: '/vendor/uplot/uPlot.min.css', dataset: { uplot: 'true' } }));
  if (page.chart) page.chart.destroy();
  const xs = days.map((d) => Date.parse(d.start) / 1000);
  const colors = { lighting: '#e3b341', socket: '#4fd1c5', ac: '#a371f7' };
  const series = [
    { label: t('student.day'), value: (_u, v) => (v === null ? '–' : formatDateTime(v * 1000, 'day')) },
    { label: t('student.kwh'), stroke: '#1f6feb', fill: 'rgba(31,111,235,0.35)', paths: uPlot.paths.bars({ size: [0.7] }), value: (_u, v) => (v === null ? '–' : formatNumber(v, { maximumFractionDigits: 2 })) },
    ...circuits.map((c) => ({ label: t(`circuit.${c.kind}`), stroke: colors[c.kind] || '#8b949e', width: 2, value: (_u, v) => (v === null ? '–' : formatNumber(v, { maximumFractionDigits: 2 })) })),
  ];
  const data = [xs, days.map((d) => d.energyWh / 1000), ...circuits.map((c) => c.energyWh.map((wh) => wh / 1000))];
  const width = Math.max(200, box.clientWidth);
  page.chart = new uPlot(
    {
      width,
      height: 180,
      series,
      scales: { x: { time: true } },
      axes: [
        { stroke: '#8b949e', grid: { stroke: '#30363d' }, values: (_u, ticks) => ticks.map((tick) => formatDateTime(tick * 1000, 'day')) },
        { stroke: '#8b949e', grid: { stroke: '#30363d' }, size: 40 },
      ],
      legend: { show: true },
    },
    data,
    box,
  );
  box.dataset.drawn = 'true';
}

function renderNotifications() {
  const card = $('notifications-card');
  card.hidden = page.notifications.length === 0;
  $('notifications-unread').textContent = page.unread > 0 ? String(page.unread) : '';
  $('notifications-read').hidden = page.unread === 0;
  $('notifications').replaceChildren(
    ...page.notifications.map((n) =>
      el('li', { class: n.readAt ? 'notification' : 'notification unread', dataset: { kind: n.kind } }, el('div', {}, n.message), el('div', { class: 'muted small' }, formatDateTime(n.createdAt))),
    ),
  );
}

/** Live updates: the server sends only this student's dormitory. */
function onLive(dormitories) {
  const own = page.dormitory && dormitories.find((d) => d.id === page.dormitory.id);
  if (!own) return;
  const before = page.liveState ? page.liveState.balance : page.dormitory.balance;
  page.liveState = own;
  render();
  // Money moved (a recharge paid, a charge posted): the ledger and usage follow, at most once a second.
  if (before && (before.electricity !== own.balance.electricity || before.water !== own.balance.water)) {
    window.clearTimeout(page.refreshTimer);
    page.refreshTimer = window.setTimeout(() => void Promise.all([loadLedger(1), loadUsage(), loadDetail()]), 1000);
  }
}

onLocaleChange(() => {
  render();
  renderUsage();
  renderNotifications();
  if (!$('login-error').hidden && !$('login-error').textContent) setLoginError(null);
});

const session = loadSession();
if (session) void showRoom(session);
else showLogin();
