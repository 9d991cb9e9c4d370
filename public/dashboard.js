// The control room's big screen: a live campus map fed by /ws/live, a room panel with remote
// cut/restore and recharge, the alarm panel, search and a campus power chart. No framework: the
// map is built once per snapshot and each diff updates only the tiles that changed. Every word
// goes through i18n.js (public/locales/dashboard.js); times are in the campus time zone.
import { AlarmsPanel } from './alarms-panel.js';
import { api, ApiError, CIRCUIT_LABELS, clearSession, connectLive, el, loadSession, login, markTile, newReference, parseYuan, STATE_LABELS, STATE_PURSE } from './client.js';
import { confirmWithReason } from './confirm-dialog.js';
import { formatDateTime, formatMoney, formatNumber, formatPower, initI18n, onLocaleChange, setTimeZone, t } from './i18n.js';
import common from './locales/common.js';
import alarms from './locales/alarms.js';
import dashboard from './locales/dashboard.js';
import { HistoryChart, renderRoomHistory } from './history-chart.js';
import { RoomSearch } from './room-search.js';

initI18n(common, alarms, dashboard);

const STATES = Object.keys(STATE_LABELS);
const CIRCUIT_KINDS = Object.keys(CIRCUIT_LABELS);
/** Days of credit left at or under which a tile shows the estimate. */
const DAYS_LEFT_SHOWN = 7;

/** Whole days: an estimate's decimals say nothing to an operator. */
const wholeDays = (/** @type {number} */ days) => formatNumber(Math.floor(days), { maximumFractionDigits: 0 });
const stateLabel = (/** @type {string} */ state) => (state ? t(`state.${state}`) : '');
const circuitLabel = (/** @type {string} */ kind) => t(`circuit.${kind}`);

const $ = (id) => document.getElementById(id);

const view = {
  /** id -> latest live state */
  dorms: new Map(),
  /** id -> tile element */
  tiles: new Map(),
  buildingNames: new Map(),
  knownBuildings: new Set(),
  live: null,
  chart: null,
  timers: [],
  selectedId: null,
  detail: null,
  rechargeReference: '',
  totalsQueued: false,
  /** @type {AlarmsPanel | null} */
  alarms: null,
  /** Wall time of the last snapshot or diff: shown when the feed is not live. */
  lastUpdateAt: 0,
  connection: 'connecting',
  /** The campus the history chart shows when no building is picked. */
  campusId: '',
};

// ---------------------------------------------------------------- sign-in

function showLogin(message) {
  stopLive();
  $('dashboard-view').hidden = true;
  $('login-view').hidden = false;
  const error = $('login-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('username').focus();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = event.submitter || $('login-form').querySelector('button');
  button.disabled = true;
  $('login-error').hidden = true;
  try {
    const session = await login($('username').value.trim(), $('password').value);
    $('password').value = '';
    if (session.role === 'student') {
      window.location.assign('/student.html');
      return;
    }
    showDashboard(session);
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

// ---------------------------------------------------------------- live map

function showDashboard(session) {
  $('login-view').hidden = true;
  $('dashboard-view').hidden = false;
  $('operator').textContent = `${session.username || ''} · ${session.role}`;
  $('users-link').hidden = session.role !== 'admin';
  buildStateCounts();
  view.chart ??= new HistoryChart($('history-chart'));
  startLive();
  view.alarms ??= new AlarmsPanel({ openRoom: (id) => void openPanel(id) });
  view.alarms.start();
  void loadCampus();
}

/** The campus time zone (times are shown in it) and the buildings (names, alarm filter). */
async function loadCampus() {
  try {
    const [campuses, buildings] = await Promise.all([api('GET', '/api/campuses'), api('GET', '/api/buildings')]);
    const campus = (campuses.campuses || [])[0];
    if (campus && campus.timeZone && setTimeZone(campus.timeZone)) rerender();
    if (campus) {
      view.campusId = campus.id;
      void showHistory();
    }
    const list = (buildings.buildings || []).filter((/** @type {any} */ b) => !b.retiredAt);
    for (const b of list) setBuildingName(b.id, b.name);
    view.alarms?.fillFilters(list);
  } catch {
    // Not every server registers the campus routes: the browser's zone and building ids stay.
  }
}

function startLive() {
  if (view.live) view.live.close();
  view.live = connectLive({
    building: $('building-filter').value || undefined,
    onSnapshot,
    onDiff,
    onStatus: (status) => {
      view.connection = status;
      renderConnection();
    },
    onUnauthorized: () => {
      clearSession();
      showLogin(t('common.sessionEnded'));
    },
  });
}

function stopLive() {
  if (view.live) view.live.close();
  view.live = null;
  for (const timer of view.timers) window.clearInterval(timer);
  view.timers = [];
  view.alarms?.stop();
}

/**
 * The connection badge; while the feed is not live the map is dimmed (data-stale) and the time
 * of the last update it shows is printed beside the badge.
 */
function renderConnection() {
  const badge = $('connection');
  badge.dataset.status = view.connection;
  badge.textContent = t(`connection.${view.connection}`);
  const stale = view.connection !== 'live' && view.lastUpdateAt > 0;
  $('campus-map').dataset.stale = String(stale);
  const note = $('last-update');
  note.hidden = !stale;
  note.textContent = stale ? t('dash.lastUpdate', { time: formatDateTime(view.lastUpdateAt, 'time') }) : '';
  note.title = stale ? t('dash.staleNote', { status: t(`connection.${view.connection}`), time: formatDateTime(view.lastUpdateAt) }) : '';
}

$('building-filter').addEventListener('change', () => {
  closePanel();
  view.dorms = new Map();
  startLive();
  void showHistory();
});

/** The history chart follows the building filter: the campus, or one building. */
function showHistory() {
  const building = $('building-filter').value;
  $('chart-title').textContent = building ? buildingLabel(building) : t('dash.chartCampus');
  if (!view.chart) return Promise.resolve();
  return building ? view.chart.setScope('building', building) : view.campusId ? view.chart.setScope('campus', view.campusId) : Promise.resolve();
}

for (const [picker, attribute] of [['range-picker', 'range'], ['metric-picker', 'metric']]) {
  $(picker).addEventListener('click', (event) => {
    const button = event.target.closest('button');
    if (!button || !view.chart) return;
    for (const b of $(picker).querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
    if (attribute === 'range') void view.chart.setRange(button.dataset.range);
    else view.chart.setMetric(button.dataset.metric);
  });
}

function onSnapshot(dormitories) {
  view.lastUpdateAt = Date.now();
  view.dorms = new Map(dormitories.map((d) => [d.id, d]));
  if (!$('building-filter').value) {
    for (const d of dormitories) view.knownBuildings.add(d.building);
    fillBuildingFilter();
  }
  renderMap();
  scheduleTotals();
  if (view.selectedId) renderPanelLive();
}

function onDiff(dormitories) {
  view.lastUpdateAt = Date.now();
  let rebuild = false;
  let alarmsChanged = false;
  for (const state of dormitories) {
    const previous = view.dorms.get(state.id);
    if (previous && previous.activeAlarms !== state.activeAlarms) alarmsChanged = true;
    view.dorms.set(state.id, state);
    const tile = view.tiles.get(state.id);
    if (tile) updateTile(tile, state);
    else rebuild = true;
  }
  if (rebuild) renderMap();
  scheduleTotals();
  if (view.selectedId && dormitories.some((d) => d.id === view.selectedId)) renderPanelLive(true);
  if (alarmsChanged) view.alarms?.changed();
}

function fillBuildingFilter() {
  const select = $('building-filter');
  const present = new Set(Array.from(select.options, (o) => o.value));
  for (const building of [...view.knownBuildings].sort()) {
    if (!present.has(building)) select.append(el('option', { value: building }, buildingLabel(building)));
  }
}

const byRoom = (a, b) => a.room.localeCompare(b.room, 'en', { numeric: true });

function renderMap() {
  const map = $('campus-map');
  const buildings = new Map();
  for (const d of view.dorms.values()) {
    if (!buildings.has(d.building)) buildings.set(d.building, new Map());
    const floors = buildings.get(d.building);
    if (!floors.has(d.floor)) floors.set(d.floor, []);
    floors.get(d.floor).push(d);
  }
  view.tiles = new Map();
  const sections = [];
  for (const building of [...buildings.keys()].sort()) {
    const floors = buildings.get(building);
    const widest = Math.max(...[...floors.values()].map((rooms) => rooms.length));
    const rows = [...floors.keys()]
      .sort((a, b) => b - a)
      .map((floor) => {
        const rooms = el('div', { class: 'rooms' }, floors.get(floor).sort(byRoom).map(tileFor));
        rooms.style.setProperty('--rooms', String(widest));
        return el('div', { class: 'floor' }, el('span', { class: 'floor-label' }, `F${floor}`), rooms);
      });
    sections.push(el('section', { class: 'building', dataset: { building } }, el('h2', { class: 'building-name' }, buildingLabel(building)), rows));
    void loadBuildingName(building);
  }
  map.replaceChildren(...sections);
  if (sections.length === 0) map.append(el('p', { class: 'muted empty' }, t('dash.noRooms')));
}

function tileFor(state) {
  const tile = el(
    'button',
    { type: 'button', class: 'tile', dataset: { dormitoryId: state.id }, onclick: () => openPanel(state.id) },
    el('span', { class: 'tile-room' }),
    el('span', { class: 'tile-power' }),
    el('span', { class: 'tile-balance' }),
    el('span', { class: 'tile-days' }),
  );
  updateTile(tile, state);
  if (state.id === view.selectedId) tile.classList.add('selected');
  view.tiles.set(state.id, tile);
  return tile;
}

/**
 * A tile tells the whole truth: the state's colour, the purse the state is about (a room low on
 * water shows its water balance, marked), its days of credit left when the live feed knows them
 * and they are few, and the alarm dot.
 */
function updateTile(tile, state) {
  markTile(tile, state);
  const purse = STATE_PURSE[state.state] || 'electricity';
  // The purse that runs out first, where the feed has an estimate for it.
  let soonest = null;
  for (const p of ['electricity', 'water']) {
    const estimate = state.daysLeft && state.daysLeft[p];
    if (estimate && typeof estimate.days === 'number' && (soonest === null || estimate.days < soonest.days)) soonest = { purse: p, days: estimate.days };
  }
  const title = [t('dash.tileTitle', { id: state.id, state: stateLabel(state.state) })];
  if (state.activeAlarms > 0) title.push(t('dash.tileAlarms', { count: state.activeAlarms }));
  for (const p of ['electricity', 'water']) {
    const estimate = state.daysLeft && state.daysLeft[p];
    if (estimate && estimate.days !== null && estimate.days !== undefined) title.push(t('dash.tileDays', { purse: t(`purse.${p}`), days: wholeDays(estimate.days) }));
  }
  tile.title = title.join(' · ');
  tile.children[0].textContent = state.room;
  tile.children[1].textContent = formatPower(state.powerW);
  tile.children[2].textContent = formatMoney(state.balance[purse]);
  tile.children[2].dataset.purse = purse;
  tile.children[2].classList.toggle('negative', state.balance[purse] < 0);
  const showDays = soonest !== null && soonest.days <= DAYS_LEFT_SHOWN;
  tile.children[3].textContent = showDays ? t('dash.daysLeft', { days: wholeDays(soonest.days) }) : '';
  tile.children[3].dataset.purse = showDays ? soonest.purse : '';
  tile.children[3].hidden = !showDays;
}

function buildingLabel(building) {
  return view.buildingNames.get(building) || building;
}

function setBuildingName(building, name) {
  view.buildingNames.set(building, name);
  const heading = document.querySelector(`.building[data-building="${window.CSS.escape(building)}"] .building-name`);
  if (heading) heading.textContent = name;
  const option = Array.from($('building-filter').options).find((o) => o.value === building);
  if (option) option.textContent = name;
}

async function loadBuildingName(building) {
  if (view.buildingNames.has(building)) return;
  view.buildingNames.set(building, building);
  try {
    const page = await api('GET', `/api/dormitories?building=${encodeURIComponent(building)}&pageSize=1`);
    const name = page.items[0] && page.items[0].buildingName;
    if (name) setBuildingName(building, name);
  } catch {
    // The id stays as the label.
  }
}

// ---------------------------------------------------------------- totals and legend

function buildStateCounts() {
  $('state-counts').replaceChildren(
    ...STATES.map((state) =>
      el('li', { class: 'state-chip', dataset: { state } }, el('span', { class: 'swatch', dataset: { state } }), el('span', { class: 'chip-label' }, stateLabel(state)), el('strong', { class: 'chip-count' }, '0')),
    ),
  );
}

function totalPowerW() {
  let total = 0;
  for (const d of view.dorms.values()) total += d.powerW || 0;
  return total;
}

/** Totals are recomputed at most once a frame, however many diffs arrive. */
function scheduleTotals() {
  if (view.totalsQueued) return;
  view.totalsQueued = true;
  window.requestAnimationFrame(() => {
    view.totalsQueued = false;
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const d of view.dorms.values()) counts[d.state] = (counts[d.state] || 0) + 1;
    for (const chip of $('state-counts').children) {
      chip.querySelector('.chip-count').textContent = String(counts[chip.dataset.state]);
      chip.classList.toggle('zero', counts[chip.dataset.state] === 0);
    }
    $('total-rooms').textContent = String(view.dorms.size);
    $('total-power').textContent = `${(totalPowerW() / 1000).toFixed(1)} kW`;
  });
}

// ---------------------------------------------------------------- room panel

function panelMessage(text, kind = 'info') {
  const message = $('panel-message');
  message.hidden = !text;
  message.textContent = text || '';
  message.dataset.kind = kind;
}

async function openPanel(id) {
  if (view.selectedId) view.tiles.get(view.selectedId)?.classList.remove('selected');
  view.selectedId = id;
  view.detail = null;
  view.tiles.get(id)?.classList.add('selected');
  view.rechargeReference = newReference('DASH');
  $('recharge-reference').textContent = view.rechargeReference;
  $('recharge-amount').value = '';
  $('panel-title').textContent = id;
  $('panel-subtitle').textContent = '';
  $('panel-occupants').replaceChildren();
  panelMessage('');
  $('room-panel').hidden = false;
  renderPanelLive(true);
  try {
    const detail = await api('GET', `/api/dormitories/${encodeURIComponent(id)}`);
    if (view.selectedId !== id) return;
    view.detail = detail;
    renderPanelDetail();
    renderPanelLive(false);
    renderRoomHistory($('panel-history'), detail).catch((error) => {
      if (view.selectedId === id) $('panel-history').dataset.state = `error: ${error.message}`;
    });
  } catch (error) {
    if (view.selectedId === id) panelMessage(error.message, 'error');
  }
}

/** The REST part of the panel: where the room is, balances with days left, occupants. */
function renderPanelDetail() {
  const detail = view.detail;
  if (!detail) return;
  $('panel-subtitle').textContent = t('panel.subtitle', { building: detail.buildingName || detail.building, floor: detail.floor, room: detail.room, beds: detail.capacity });
  setBalances(detail.balance);
  for (const purse of ['electricity', 'water']) {
    const estimate = detail.daysLeft && detail.daysLeft[purse];
    $(`panel-days-${purse}`).textContent = estimate && estimate.days !== null && estimate.days !== undefined ? t('dash.daysLeft', { days: wholeDays(estimate.days) }) : '';
  }
  $('panel-occupants').replaceChildren(
    ...detail.occupants.map((o) =>
      el('li', {}, el('strong', {}, o.name), el('span', { class: 'muted' }, ` ${t('panel.bed', { bed: o.bed ?? '–' })} · ${o.studentNumber}`), el('div', { class: 'muted small' }, [o.college, o.className, o.phone].filter(Boolean).join(' · '))),
    ),
  );
  if (detail.occupants.length === 0) $('panel-occupants').append(el('li', { class: 'muted' }, t('panel.noOccupants')));
}

function closePanel() {
  if (view.selectedId) view.tiles.get(view.selectedId)?.classList.remove('selected');
  view.selectedId = null;
  view.detail = null;
  $('room-panel').hidden = true;
}

$('panel-close').addEventListener('click', closePanel);
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && view.selectedId && !$('confirm-dialog').hasAttribute('open')) closePanel();
});

function setBalances(balance) {
  if (!balance) return;
  $('panel-balance-electricity').textContent = formatMoney(balance.electricity);
  $('panel-balance-water').textContent = formatMoney(balance.water);
}

/** The live part of the panel: state, power, circuits. Balances follow the feed too. */
function renderPanelLive(withBalances) {
  const live = view.dorms.get(view.selectedId);
  const detail = view.detail;
  const state = live ? live.state : detail && detail.state;
  const badge = $('panel-state');
  badge.dataset.state = state || '';
  badge.textContent = stateLabel(state);
  if (live) {
    $('panel-power').textContent = formatPower(live.powerW);
    $('panel-reading').textContent = t('panel.reading', { online: t(live.online ? 'panel.online' : 'panel.offline'), time: live.lastReadingAt ? formatDateTime(live.lastReadingAt) : t('panel.never') });
    if (withBalances) setBalances(live.balance);
  }
  const liveCircuits = new Map((live ? live.circuits : []).map((c) => [c.kind, c]));
  const detailCircuits = detail && Array.isArray(detail.circuits) ? detail.circuits : [];
  const kinds = CIRCUIT_KINDS.filter((kind) => liveCircuits.has(kind) || detailCircuits.some((c) => c.kind === kind));
  $('panel-circuits').replaceChildren(
    ...kinds.map((kind) => {
      const fromDetail = detailCircuits.find((c) => c.kind === kind) || {};
      const c = { ...fromDetail, ...(liveCircuits.get(kind) || {}) };
      const supply = c.supply || 'unknown';
      return el(
        'tr',
        { dataset: { circuit: kind } },
        el('td', {}, circuitLabel(kind), c.cutReason ? el('span', { class: 'cut-reason muted' }, c.cutReason) : null),
        el('td', {}, el('span', { class: 'supply', dataset: { supply } }, t(`supply.${supply}`))),
        el('td', {}, formatPower(c.powerW)),
        el(
          'td',
          { class: 'actions' },
          el('button', { type: 'button', class: 'danger small', dataset: { circuit: kind, action: 'cut' } }, t('panel.cut')),
          el('button', { type: 'button', class: 'small', dataset: { circuit: kind, action: 'restore' } }, t('panel.restore')),
        ),
      );
    }),
  );
}

$('room-panel').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button) void sendCommand(button, button.dataset.circuit, button.dataset.action);
});

async function sendCommand(button, circuit, action) {
  const id = view.selectedId;
  let reason = $('command-reason').value.trim();
  // Cutting a whole room is the dangerous one: it asks first, with a reason of its own.
  if (circuit === 'all' && action === 'cut') {
    reason = await confirmWithReason({ title: t('confirm.cutAll.title', { room: id }), body: t('confirm.cutAll.body'), confirmLabel: t('confirm.cutAll.ok') });
    if (reason === null || view.selectedId !== id) return;
  }
  if (!reason) {
    panelMessage(t('confirm.reasonRequired'), 'error');
    return;
  }
  button.disabled = true;
  const target = circuit === 'all' ? t('panel.allCircuits') : circuitLabel(circuit);
  panelMessage(t(`panel.sending.${action}`, { target }));
  try {
    const result = await api('POST', `/api/dormitories/${encodeURIComponent(id)}/commands`, { circuit, action, reason });
    const state = result && (result.state || result.status);
    // A restore does not override another cut (arrears, safety): the server says what still holds.
    const held = ((result && result.circuits) || [])
      .filter((c) => c.stillCutBy && (!Array.isArray(c.stillCutBy) || c.stillCutBy.length > 0))
      .map((c) => t('panel.stillCut', { circuit: CIRCUIT_LABELS[c.circuit] ? circuitLabel(c.circuit) : c.circuit, reasons: [].concat(c.stillCutBy).join(', ') }));
    if (view.selectedId === id) panelMessage([t(`panel.done.${action}`, { target, state: state || t('panel.accepted') }), ...held].join('; '), 'ok');
  } catch (error) {
    if (view.selectedId === id) panelMessage(t('panel.commandFailed', { action, circuit, message: error.message }), 'error');
  } finally {
    button.disabled = false;
  }
}

$('recharge-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const id = view.selectedId;
  const amount = parseYuan($('recharge-amount').value);
  if (amount === null) {
    panelMessage(t('panel.amountInvalid'), 'error');
    return;
  }
  const purse = $('recharge-purse').value;
  const button = event.submitter || $('recharge-form').querySelector('button');
  button.disabled = true;
  try {
    const result = await api('POST', `/api/dormitories/${encodeURIComponent(id)}/recharges`, { amount, purse, method: $('recharge-method').value, reference: view.rechargeReference });
    if (view.selectedId !== id) return;
    $(`panel-balance-${result.purse}`).textContent = formatMoney(result.balance);
    panelMessage(t('panel.credited', { amount: formatMoney(result.amount), purse: t(`purse.${result.purse}`).toLowerCase(), balance: formatMoney(result.balance), reference: result.reference }), 'ok');
    view.rechargeReference = newReference('DASH');
    $('recharge-reference').textContent = view.rechargeReference;
    $('recharge-amount').value = '';
  } catch (error) {
    // A network or server failure keeps the reference, so retrying cannot credit twice.
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      view.rechargeReference = newReference('DASH');
      $('recharge-reference').textContent = view.rechargeReference;
    }
    if (view.selectedId === id) panelMessage(t('panel.rechargeFailed', { message: error.message }), 'error');
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------- search and language

new RoomSearch({ openRoom: (id) => void openPanel(id) });

/** A language switch re-draws what was built in code (marked elements translate themselves). */
function rerender() {
  buildStateCounts();
  scheduleTotals();
  for (const [id, tile] of view.tiles) {
    const state = view.dorms.get(id);
    if (state) updateTile(tile, state);
  }
  renderConnection();
  view.alarms?.relabel();
  if (view.chart) {
    $('chart-title').textContent = $('building-filter').value ? buildingLabel($('building-filter').value) : t('dash.chartCampus');
    view.chart.draw();
  }
  if (view.selectedId) {
    renderPanelDetail();
    renderPanelLive(false);
  }
}
onLocaleChange(rerender);

// ---------------------------------------------------------------- start

const session = loadSession();
if (session && session.role === 'student') window.location.assign('/student.html');
else if (session) showDashboard(session);
else showLogin();
