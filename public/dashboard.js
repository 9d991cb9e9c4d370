// The control room's big screen: a live campus map fed by /ws/live, a room panel with remote
// cut/restore and recharge, active alarms and a campus power chart. No framework: the map is
// built once per snapshot and each diff updates only the tiles that changed.
import { api, ApiError, CIRCUIT_LABELS, clearSession, connectLive, el, loadSession, login, newReference, parseYuan, STATE_LABELS, STATE_PURSE, watts, yuan } from './client.js';
import { PowerChart } from './power-chart.js';

const STATES = Object.keys(STATE_LABELS);
const CIRCUIT_KINDS = Object.keys(CIRCUIT_LABELS);
const CHART_SAMPLE_MS = 2000;
const ALARM_POLL_MS = 15_000;

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
  alarmsRefreshTimer: 0,
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
  buildStateCounts();
  view.chart = new PowerChart($('power-chart'));
  startLive();
  // Sampled on wall time while there is data: the chart is of what the screen shows.
  view.timers.push(window.setInterval(samplePower, CHART_SAMPLE_MS));
  void refreshAlarms();
  view.timers.push(window.setInterval(() => void refreshAlarms(), ALARM_POLL_MS));
}

function startLive() {
  if (view.live) view.live.close();
  view.live = connectLive({
    building: $('building-filter').value || undefined,
    onSnapshot,
    onDiff,
    onStatus: (status) => {
      const badge = $('connection');
      badge.dataset.status = status;
      badge.textContent = status;
    },
    onUnauthorized: () => {
      clearSession();
      showLogin('Your session has ended. Please sign in again.');
    },
  });
}

function stopLive() {
  if (view.live) view.live.close();
  view.live = null;
  for (const timer of view.timers) window.clearInterval(timer);
  view.timers = [];
}

$('building-filter').addEventListener('change', () => {
  closePanel();
  const building = $('building-filter').value;
  $('chart-title').textContent = building ? `${buildingLabel(building)} power` : 'Campus power';
  view.chart = new PowerChart($('power-chart'));
  view.dorms = new Map();
  startLive();
});

function samplePower() {
  if (view.chart && view.dorms.size > 0) view.chart.add(Date.now(), totalPowerW());
}

function onSnapshot(dormitories) {
  view.dorms = new Map(dormitories.map((d) => [d.id, d]));
  if (!$('building-filter').value) {
    for (const d of dormitories) view.knownBuildings.add(d.building);
    fillBuildingFilter();
  }
  renderMap();
  scheduleTotals();
  if (view.chart && view.chart.samples.length === 0) samplePower();
  if (view.selectedId) renderPanelLive();
}

function onDiff(dormitories) {
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
  if (alarmsChanged) {
    window.clearTimeout(view.alarmsRefreshTimer);
    view.alarmsRefreshTimer = window.setTimeout(() => void refreshAlarms(), 1000);
  }
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
  if (sections.length === 0) map.append(el('p', { class: 'muted empty' }, 'No dormitories in this view yet.'));
}

function tileFor(state) {
  const tile = el(
    'button',
    { type: 'button', class: 'tile', dataset: { dormitoryId: state.id }, onclick: () => openPanel(state.id) },
    el('span', { class: 'tile-room' }),
    el('span', { class: 'tile-power' }),
    el('span', { class: 'tile-balance' }),
  );
  updateTile(tile, state);
  if (state.id === view.selectedId) tile.classList.add('selected');
  view.tiles.set(state.id, tile);
  return tile;
}

function updateTile(tile, state) {
  tile.dataset.state = state.state;
  tile.dataset.online = String(state.online);
  tile.classList.toggle('has-alarm', state.activeAlarms > 0);
  tile.title = `${state.id} · ${STATE_LABELS[state.state] || state.state}${state.activeAlarms > 0 ? ` · ${state.activeAlarms} alarm(s)` : ''}`;
  tile.children[0].textContent = state.room;
  tile.children[1].textContent = watts(state.powerW);
  // The balance of the purse the state is about: a room low on water shows its water balance.
  const purse = STATE_PURSE[state.state] || 'electricity';
  tile.children[2].textContent = yuan(state.balance[purse]);
  tile.children[2].dataset.purse = purse;
}

function buildingLabel(building) {
  return view.buildingNames.get(building) || building;
}

async function loadBuildingName(building) {
  if (view.buildingNames.has(building)) return;
  view.buildingNames.set(building, building);
  try {
    const page = await api('GET', `/api/dormitories?building=${encodeURIComponent(building)}&pageSize=1`);
    const name = page.items[0] && page.items[0].buildingName;
    if (!name) return;
    view.buildingNames.set(building, name);
    const heading = document.querySelector(`.building[data-building="${window.CSS.escape(building)}"] .building-name`);
    if (heading) heading.textContent = name;
    const option = Array.from($('building-filter').options).find((o) => o.value === building);
    if (option) option.textContent = name;
  } catch {
    // The id stays as the label.
  }
}

// ---------------------------------------------------------------- totals and legend

function buildStateCounts() {
  $('state-counts').replaceChildren(
    ...STATES.map((state) =>
      el('li', { class: 'state-chip', dataset: { state } }, el('span', { class: 'swatch', dataset: { state } }), el('span', { class: 'chip-label' }, STATE_LABELS[state]), el('strong', { class: 'chip-count' }, '0')),
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
    $('panel-subtitle').textContent = `${detail.buildingName || detail.building} · floor ${detail.floor} · room ${detail.room} · ${detail.capacity} beds`;
    setBalances(detail.balance);
    $('panel-occupants').replaceChildren(
      ...detail.occupants.map((o) =>
        el('li', {}, el('strong', {}, o.name), el('span', { class: 'muted' }, ` bed ${o.bed ?? '–'} · ${o.studentNumber}`), el('div', { class: 'muted small' }, [o.college, o.className, o.phone].filter(Boolean).join(' · '))),
      ),
    );
    if (detail.occupants.length === 0) $('panel-occupants').append(el('li', { class: 'muted' }, 'No occupants'));
    renderPanelLive(false);
  } catch (error) {
    if (view.selectedId === id) panelMessage(error.message, 'error');
  }
}

function closePanel() {
  if (view.selectedId) view.tiles.get(view.selectedId)?.classList.remove('selected');
  view.selectedId = null;
  view.detail = null;
  $('room-panel').hidden = true;
}

$('panel-close').addEventListener('click', closePanel);
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && view.selectedId) closePanel();
});

function setBalances(balance) {
  if (!balance) return;
  $('panel-balance-electricity').textContent = yuan(balance.electricity);
  $('panel-balance-water').textContent = yuan(balance.water);
}

/** The live part of the panel: state, power, circuits. Balances follow the feed too. */
function renderPanelLive(withBalances) {
  const live = view.dorms.get(view.selectedId);
  const detail = view.detail;
  const state = live ? live.state : detail && detail.state;
  const badge = $('panel-state');
  badge.dataset.state = state || '';
  badge.textContent = STATE_LABELS[state] || state || '';
  if (live) {
    $('panel-power').textContent = watts(live.powerW);
    $('panel-reading').textContent = `${live.online ? 'online' : 'offline'} · last reading ${live.lastReadingAt ? new Date(live.lastReadingAt).toLocaleTimeString() : 'never'}`;
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
        el('td', {}, CIRCUIT_LABELS[kind], c.cutReason ? el('span', { class: 'cut-reason muted' }, c.cutReason) : null),
        el('td', {}, el('span', { class: 'supply', dataset: { supply } }, supply)),
        el('td', {}, watts(c.powerW)),
        el(
          'td',
          { class: 'actions' },
          el('button', { type: 'button', class: 'danger small', dataset: { circuit: kind, action: 'cut' } }, 'Cut'),
          el('button', { type: 'button', class: 'small', dataset: { circuit: kind, action: 'restore' } }, 'Restore'),
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
  const reason = $('command-reason').value.trim();
  if (!reason) {
    panelMessage('Enter a reason for the audit log first.', 'error');
    return;
  }
  button.disabled = true;
  panelMessage(`${action === 'cut' ? 'Cutting' : 'Restoring'} ${circuit === 'all' ? 'all circuits' : CIRCUIT_LABELS[circuit]}…`);
  try {
    const result = await api('POST', `/api/dormitories/${encodeURIComponent(id)}/commands`, { circuit, action, reason });
    const state = result && (result.state || result.status);
    // A restore does not override another cut (arrears, safety): the server says what still holds.
    const held = ((result && result.circuits) || [])
      .filter((c) => c.stillCutBy && (!Array.isArray(c.stillCutBy) || c.stillCutBy.length > 0))
      .map((c) => `${CIRCUIT_LABELS[c.circuit] || c.circuit} still cut by ${[].concat(c.stillCutBy).join(', ')}`);
    if (view.selectedId === id) panelMessage([`${action === 'cut' ? 'Cut' : 'Restore'} ${circuit === 'all' ? 'all circuits' : CIRCUIT_LABELS[circuit]}: ${state || 'accepted'}`, ...held].join('; '), 'ok');
  } catch (error) {
    if (view.selectedId === id) panelMessage(`${action} ${circuit} failed: ${error.message}`, 'error');
  } finally {
    button.disabled = false;
  }
}

$('recharge-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const id = view.selectedId;
  const amount = parseYuan($('recharge-amount').value);
  if (amount === null) {
    panelMessage('Enter an amount in yuan, e.g. 50 or 12.50.', 'error');
    return;
  }
  const purse = $('recharge-purse').value;
  const button = event.submitter || $('recharge-form').querySelector('button');
  button.disabled = true;
  try {
    const result = await api('POST', `/api/dormitories/${encodeURIComponent(id)}/recharges`, { amount, purse, method: $('recharge-method').value, reference: view.rechargeReference });
    if (view.selectedId !== id) return;
    $(`panel-balance-${result.purse}`).textContent = yuan(result.balance);
    panelMessage(`Credited ${yuan(result.amount)} to ${result.purse}; balance now ${yuan(result.balance)} (ref ${result.reference}).`, 'ok');
    view.rechargeReference = newReference('DASH');
    $('recharge-reference').textContent = view.rechargeReference;
    $('recharge-amount').value = '';
  } catch (error) {
    // A network or server failure keeps the reference, so retrying cannot credit twice.
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      view.rechargeReference = newReference('DASH');
      $('recharge-reference').textContent = view.rechargeReference;
    }
    if (view.selectedId === id) panelMessage(`Recharge failed: ${error.message}`, 'error');
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------- alarms

async function refreshAlarms() {
  const note = $('alarms-note');
  let alarms = [];
  try {
    const body = await api('GET', '/api/alarms?state=active');
    alarms = Array.isArray(body) ? body : (body && body.items) || [];
    note.hidden = true;
  } catch (error) {
    note.hidden = false;
    note.textContent = error instanceof ApiError && error.status === 404 ? 'Alarm service not available.' : `Alarms: ${error.message}`;
  }
  $('alarm-count').textContent = String(alarms.length);
  $('alarms').replaceChildren(...alarms.map(alarmItem));
  if (alarms.length === 0 && note.hidden) $('alarms').append(el('li', { class: 'muted' }, 'No active alarms'));
}

function alarmItem(alarm) {
  const dormitoryId = alarm.dormitoryId || alarm.dormitory_id;
  const raisedAt = alarm.raisedAt || alarm.raised_at;
  return el(
    'li',
    { class: 'alarm', dataset: { alarmId: String(alarm.id), severity: alarm.severity || 'warning' } },
    el(
      'div',
      { class: 'alarm-head' },
      el('strong', {}, alarm.kind || alarm.type || 'alarm'),
      dormitoryId ? el('button', { type: 'button', class: 'link', onclick: () => openPanel(dormitoryId) }, dormitoryId) : null,
      el('span', { class: 'muted small' }, raisedAt ? new Date(raisedAt).toLocaleTimeString() : ''),
    ),
    el('p', { class: 'alarm-message' }, alarm.message || ''),
    el('button', { type: 'button', class: 'small', onclick: (event) => void releaseAlarm(event.currentTarget, alarm.id) }, 'Release'),
  );
}

async function releaseAlarm(button, id) {
  button.disabled = true;
  try {
    await api('POST', `/api/alarms/${encodeURIComponent(id)}/release`, {});
  } catch (error) {
    $('alarms-note').hidden = false;
    $('alarms-note').textContent = `Release failed: ${error.message}`;
    button.disabled = false;
    return;
  }
  await refreshAlarms();
}

// ---------------------------------------------------------------- start

const session = loadSession();
if (session && session.role === 'student') window.location.assign('/student.html');
else if (session) showDashboard(session);
else showLogin();
