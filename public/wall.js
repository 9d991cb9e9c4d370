// The wall display: a read-only screen in a lobby or the control room. It opens the live feed
// with a display token (never a session: /wall#token=...), shows one building per page with
// every room visible at any resolution from 1366x768 to 3840x2160, rotates through the
// buildings, runs an alarm ticker, and reconnects by itself when the server restarts.
import { connectLive, el, markTile, STATE_LABELS, STATE_PURSE } from './client.js';
import { formatDateTime, formatMoney, formatPower, initI18n, onLocaleChange, setLocale, setTimeZone, t } from './i18n.js';
import { alarmTitle } from './alarm-text.js';
import alarms from './locales/alarms.js';
import common from './locales/common.js';
import wall from './locales/wall.js';

initI18n(common, alarms, wall);

const TOKEN_KEY = 'campus-prepaid.display-token';
/** Every state, in the legend's order (their words come from locales/common.js). */
const STATES = Object.keys(STATE_LABELS);
/** States that belong on the ticker even without an alarm. */
const TICKER_STATES = new Set(['cut_arrears', 'cut_water_arrears', 'cut_safety', 'cut_manual', 'overdraft', 'overdraft_water']);

const $ = (id) => document.getElementById(id);
const params = new window.URLSearchParams(window.location.search);
if (params.get('lang')) setLocale(params.get('lang'));
/** Seconds a building page stays up; ?rotate=0 stops the rotation. */
const rotateSeconds = Math.max(0, Number(params.get('rotate') ?? 20) || 0);
const pinnedBuilding = params.get('building') || undefined;

const view = {
  /** id -> latest live state */
  dorms: new Map(),
  /** id -> tile of the page on screen */
  tiles: new Map(),
  buildingNames: new Map(),
  pageIndex: 0,
  status: 'connecting',
  lastUpdateAt: 0,
  blocked: null,
  queued: false,
  tickerKey: '',
  /** The active critical alarms of this screen's scope, newest first, from the feed. */
  alarms: [],
};

/** The token from the address's fragment (kept, then removed from the address bar), else the stored one. */
function displayToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match) {
    try {
      window.localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    } catch {
      // No storage: the fragment is read again at the next load.
    }
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return decodeURIComponent(match[1]);
  }
  try {
    return window.localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function block(key) {
  view.blocked = key;
  const message = el('p', { id: 'wall-message', class: 'wall-message', dataset: { kind: 'error' } }, t(key));
  $('wall-map').replaceChildren(message);
  view.tiles = new Map();
}

// ---------------------------------------------------------------- feed

const token = displayToken();
if (!token) block('wall.noToken');
else {
  connectLive({
    building: pinnedBuilding,
    credential: () => `display.${token}`,
    // A wall has nobody to press reload: after a restart it retries every few seconds at most.
    maxRetryMs: 5000,
    onSnapshot(dormitories, message) {
      const display = message && message.display;
      if (display) {
        if (display.timeZone) setTimeZone(display.timeZone);
        for (const b of display.buildings || []) view.buildingNames.set(b.id, b.name);
      }
      view.dorms = new Map(dormitories.map((d) => [d.id, d]));
      view.lastUpdateAt = Date.now();
      renderPage();
    },
    onDiff(dormitories) {
      let rebuild = false;
      for (const state of dormitories) {
        if (!view.dorms.has(state.id)) rebuild = true;
        view.dorms.set(state.id, state);
        const tile = view.tiles.get(state.id);
        if (tile) updateTile(tile, state);
      }
      view.lastUpdateAt = Date.now();
      if (rebuild) renderPage();
      else scheduleSummary();
    },
    onStatus(status) {
      view.status = status;
      document.body.dataset.status = status;
      renderStatus();
    },
    onUnauthorized() {
      block('wall.revoked');
    },
    onAlarms(list) {
      view.alarms = Array.isArray(list) ? list : [];
      renderTicker();
    },
  });
}

// ---------------------------------------------------------------- pages

function buildings() {
  return [...new Set([...view.dorms.values()].map((d) => d.building))].sort();
}

function buildingName(id) {
  return view.buildingNames.get(id) || id;
}

const byRoom = (a, b) => a.room.localeCompare(b.room, 'en', { numeric: true });

function currentBuilding() {
  const all = buildings();
  if (all.length === 0) return undefined;
  view.pageIndex = view.pageIndex % all.length;
  return all[view.pageIndex];
}

/** Builds the page of the current building: floors top-down, every room a tile sized to fit. */
function renderPage() {
  if (view.blocked) return;
  const building = currentBuilding();
  const map = $('wall-map');
  view.tiles = new Map();
  if (!building) {
    map.replaceChildren(el('p', { id: 'wall-message', class: 'wall-message' }, t(view.dorms.size === 0 ? 'wall.waiting' : 'wall.noRooms')));
    scheduleSummary();
    return;
  }
  const floors = new Map();
  for (const d of view.dorms.values()) {
    if (d.building !== building) continue;
    if (!floors.has(d.floor)) floors.set(d.floor, []);
    floors.get(d.floor).push(d);
  }
  const floorNumbers = [...floors.keys()].sort((a, b) => b - a);
  const widest = Math.max(...[...floors.values()].map((rooms) => rooms.length));
  const grid = el(
    'section',
    { class: 'wall-building', dataset: { building } },
    floorNumbers.map((floor) =>
      el('div', { class: 'wall-floor' }, el('span', { class: 'wall-floor-label' }, t('wall.floor', { floor })), el('div', { class: 'wall-rooms' }, floors.get(floor).sort(byRoom).map(tileFor))),
    ),
  );
  grid.style.setProperty('--floors', String(floorNumbers.length));
  grid.style.setProperty('--rooms', String(widest));
  map.replaceChildren(grid);
  scheduleSummary();
}

function tileFor(state) {
  const tile = el('div', { class: 'wall-tile', dataset: { dormitoryId: state.id } }, el('span', { class: 'wall-tile-room' }), el('span', { class: 'wall-tile-balance' }), el('span', { class: 'wall-tile-power' }));
  updateTile(tile, state);
  view.tiles.set(state.id, tile);
  return tile;
}

function updateTile(tile, state) {
  markTile(tile, state);
  tile.title = `${state.id} · ${t(`state.${state.state}`)}`;
  tile.children[0].textContent = state.room;
  tile.children[1].textContent = formatMoney(state.balance[STATE_PURSE[state.state] || 'electricity']);
  tile.children[2].textContent = formatPower(state.powerW);
}

function rotate() {
  if (view.blocked || pinnedBuilding) return;
  const count = buildings().length;
  if (count < 2) return;
  view.pageIndex = (view.pageIndex + 1) % count;
  renderPage();
}

if (rotateSeconds > 0) window.setInterval(rotate, rotateSeconds * 1000);

// ---------------------------------------------------------------- header, ticker

/** Counts, total power and the ticker follow the feed at most once a frame. */
function scheduleSummary() {
  if (view.queued) return;
  view.queued = true;
  window.requestAnimationFrame(() => {
    view.queued = false;
    renderSummary();
  });
}

function renderSummary() {
  const building = currentBuilding();
  const all = buildings();
  $('wall-building').textContent = building ? buildingName(building) : t('wall.title');
  $('wall-page').textContent = all.length > 1 ? t('wall.page', { page: view.pageIndex + 1, pages: all.length }) : '';
  const rooms = [...view.dorms.values()].filter((d) => d.building === building);
  const counts = new Map();
  for (const d of rooms) counts.set(d.state, (counts.get(d.state) || 0) + 1);
  $('wall-counts').replaceChildren(
    ...STATES.filter((state) => counts.get(state)).map((state) =>
      el('li', { class: 'wall-count', dataset: { state } }, el('span', { class: 'swatch' }), el('span', {}, t(`state.${state}`)), el('strong', { class: 'count' }, String(counts.get(state)))),
    ),
  );
  $('wall-power').textContent = building ? t('wall.power', { power: formatPower(rooms.reduce((sum, d) => sum + (d.powerW || 0), 0)) }) : '';
  renderTicker();
}

/**
 * The ticker: the active critical alarms of this screen (where, what, when; titled in the page's
 * language from their kind), then the rooms cut or overdrawn; it scrolls round when there are
 * any, and is rebuilt only when what it says changes.
 */
function renderTicker() {
  const rooms = [...view.dorms.values()].filter((d) => TICKER_STATES.has(d.state)).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  const key = `${document.documentElement.lang}|${view.alarms.map((a) => a.id).join(',')}|${rooms.map((d) => `${d.id}:${d.state}`).join(',')}`;
  if (key === view.tickerKey) return;
  view.tickerKey = key;
  const track = $('ticker-track');
  if (view.alarms.length === 0 && rooms.length === 0) {
    track.replaceChildren(el('span', { class: 'ticker-item muted' }, t('wall.noAlarms')));
    track.classList.remove('moving');
    return;
  }
  const where = (alarm) => alarm.dormitoryId || (alarm.gatewayId ? t('wall.gateway', { gateway: alarm.gatewayId }) : alarm.rooms.join(' ')) || t('wall.campus');
  const alarmEntry = (alarm) =>
    el(
      'span',
      { class: 'ticker-item ticker-alarm', dataset: { alarmId: String(alarm.id), kind: alarm.kind, dormitoryId: alarm.dormitoryId || '' } },
      el('span', { class: 'alarm-mark', 'aria-hidden': 'true' }, '●'),
      el('strong', { class: 'ticker-room' }, where(alarm)),
      el('span', { class: 'ticker-title' }, alarmTitle(alarm.kind)),
      el('time', { class: 'ticker-time', datetime: alarm.raisedAt }, formatDateTime(alarm.raisedAt)),
    );
  const roomEntry = (d) => el('span', { class: 'ticker-item', dataset: { dormitoryId: d.id, state: d.state } }, el('span', { class: 'swatch' }), el('strong', {}, d.id), ` ${t(`state.${d.state}`)}`);
  const run = () => [...view.alarms.map(alarmEntry), ...rooms.map(roomEntry)];
  // Two copies side by side scroll as one endless band; the speed follows its length.
  track.replaceChildren(el('div', { class: 'ticker-run' }, run()), el('div', { class: 'ticker-run', 'aria-hidden': 'true' }, run()));
  track.style.setProperty('--ticker-seconds', String(Math.max(20, (view.alarms.length + rooms.length) * 5)));
  track.classList.add('moving');
}

function renderStatus() {
  const badge = $('wall-connection');
  badge.dataset.status = view.status;
  badge.textContent = t(`connection.${view.status}`);
  const stale = $('wall-stale');
  stale.hidden = view.status === 'live' || !view.lastUpdateAt;
  stale.textContent = view.lastUpdateAt ? t('wall.lastUpdate', { time: formatDateTime(view.lastUpdateAt, 'time') }) : '';
}

function tick() {
  $('wall-clock').textContent = formatDateTime(Date.now(), 'datetime');
}
tick();
window.setInterval(tick, 1000);

onLocaleChange(() => {
  if (view.blocked) block(view.blocked);
  else renderPage();
  renderStatus();
  tick();
});
