// Shared by the dashboard and the student page: the session, the REST client, money
// formatting and the live WebSocket connection. Plain ES module, no build step.

const SESSION_KEY = 'campus-prepaid.session';

/** The bearer session, kept for this browser tab only. */
export function loadSession() {
  try {
    const raw = window.sessionStorage.getItem(SESSION_KEY);
    const session = raw ? JSON.parse(raw) : null;
    if (!session || typeof session.token !== 'string') return null;
    if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) return null;
    return session;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession() {
  window.sessionStorage.removeItem(SESSION_KEY);
}

/** An error answer of the API: `{"error":{"code","message","field"}}`, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Calls the API with the session's token; resolves with the JSON body, rejects with ApiError. */
export async function api(method, path, body) {
  const session = loadSession();
  const headers = { accept: 'application/json' };
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `the server cannot be reached (${error.message})`);
  }
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const err = json && json.error ? json.error : {};
    throw new ApiError(response.status, err.code || `HTTP_${response.status}`, err.message || `${method} ${path} failed with HTTP ${response.status}`, err.field);
  }
  return json;
}

export async function login(username, password) {
  const result = await api('POST', '/api/auth/login', { username, password });
  const session = { token: result.token, role: result.role, username, expiresAt: result.expiresAt };
  saveSession(session);
  return session;
}

/** Minor units (fen) to yuan with two decimals, in integer arithmetic: 123456 -> "¥1,234.56". */
export function yuan(minor) {
  if (typeof minor !== 'number' || !Number.isFinite(minor)) return '–';
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(minor));
  const whole = Math.floor(abs / 100).toLocaleString('en-US');
  return `${sign}¥${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** "12.5" or "12" or "0.05" yuan to integer fen; null when it is not a positive amount with <= 2 decimals. */
export function parseYuan(text) {
  const match = /^\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  const fen = Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
  return fen > 0 ? fen : null;
}

export function watts(powerW) {
  if (typeof powerW !== 'number' || !Number.isFinite(powerW)) return '–';
  if (Math.abs(powerW) >= 10_000) return `${(powerW / 1000).toFixed(1)} kW`;
  return `${Math.round(powerW)} W`;
}

export const STATE_LABELS = {
  normal: 'Normal',
  low_balance: 'Low balance',
  low_balance_water: 'Low balance: water',
  overdraft: 'Overdraft',
  overdraft_water: 'Overdraft: water',
  cut_arrears: 'Cut: arrears',
  cut_water_arrears: 'Cut: water arrears',
  cut_safety: 'Cut: safety',
  cut_manual: 'Cut: manual',
  holiday_off: 'Holiday off',
  offline: 'Offline',
};

/** The purse a state is about (the tile shows that purse's balance); electricity otherwise. */
export const STATE_PURSE = { low_balance_water: 'water', overdraft_water: 'water', cut_water_arrears: 'water' };

/** What a room's tile shows of its live state on every screen (map, wall): state colour, online, alarm dot. */
export function markTile(tile, state) {
  tile.dataset.state = state.state;
  tile.dataset.online = String(state.online);
  tile.classList.toggle('has-alarm', state.activeAlarms > 0);
}

export const CIRCUIT_LABELS = { lighting: 'Lighting', socket: 'Sockets', ac: 'Air conditioner' };

/** A reference for a recharge: random, so a retry of the same form submission stays idempotent. */
export function newReference(prefix) {
  const bytes = new Uint8Array(8);
  window.crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Builds an element: el('td', { class: 'x', dataset: { id: '1' } }, 'text', child). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof window.Node ? child : String(child));
  }
  return node;
}

/** The signed-in session as a live-feed subprotocol, or null when there is none. */
const sessionProtocol = () => {
  const session = loadSession();
  return session ? `bearer.${session.token}` : null;
};

/**
 * The live feed (/ws/live). The token travels as a subprotocol (`bearer.<session token>`, or a
 * wall's `display.<token>` through `credential`) so it stays out of URLs and logs. Reconnects
 * with backoff up to `maxRetryMs`; a 4401 close means the session (or display token) is gone.
 * `onJob` (staff only) receives Excel batch progress: `{"type":"job"}` messages (docs/imports.md);
 * `onAlarms` (wall displays) the active critical alarms of its scope: `{"type":"alarms"}`.
 */
/**
 * @typedef {{ kind: string, supply: 'on' | 'off', powerW: number, pf: number, cutReason: string | null }} CircuitLiveState
 * @typedef {{ id: string, building: string, floor: number, room: string, state: string, balance: { electricity: number, water: number }, powerW: number, online: boolean, circuits: CircuitLiveState[], activeAlarms: number, lastReadingAt: number | null, daysLeft?: object }} DormitoryLiveState
 * @typedef {Partial<Omit<DormitoryLiveState, 'id'>> & { id: string, circuitChanges?: [number, Partial<CircuitLiveState>][] }} DormitoryDelta
 */

/**
 * A delta applied to a dormitory's whole state: a new object (callers may keep the old one).
 * `circuits` replaces the list; `circuitChanges` are [index, changed fields] of the list.
 * @param {DormitoryLiveState} state
 * @param {DormitoryDelta} delta
 * @returns {DormitoryLiveState}
 */
export function applyDelta(state, delta) {
  const { circuitChanges, circuits, ...fields } = delta;
  let nextCircuits = circuits ?? state.circuits;
  if (circuitChanges) {
    nextCircuits = nextCircuits.map((c) => ({ ...c }));
    for (const [index, change] of circuitChanges) if (nextCircuits[index]) nextCircuits[index] = { ...nextCircuits[index], ...change };
  }
  return { ...state, ...fields, circuits: nextCircuits };
}

export function connectLive({ building, onSnapshot, onDiff, onStatus, onUnauthorized, onJob, onAlarms, credential = sessionProtocol, maxRetryMs = 15_000 }) {
  let socket = null;
  let closed = false;
  /** Each dormitory's whole state as this client holds it (deltas are merged into it). */
  const states = new Map();
  let retryMs = 1000;
  let retryTimer = 0;

  const open = () => {
    const protocol = credential();
    if (!protocol) {
      onUnauthorized();
      return;
    }
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    // Deltas (docs/websocket.md): after the snapshot, only what changed; merged here into whole states.
    const query = `?format=delta${building ? `&building=${encodeURIComponent(building)}` : ''}`;
    onStatus('connecting');
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/live${query}`, ['campus-live', protocol]);
    socket.addEventListener('open', () => {
      retryMs = 1000;
      onStatus('live');
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === 'snapshot') {
        states.clear();
        for (const d of message.dormitories) states.set(d.id, d);
        onSnapshot(message.dormitories, message);
      } else if (message.type === 'diff') {
        for (const d of message.dormitories) states.set(d.id, d);
        onDiff(message.dormitories);
      } else if (message.type === 'delta') {
        const merged = [];
        for (const delta of message.dormitories) {
          const before = states.get(delta.id);
          if (!before && !delta.circuits) continue; // a dormitory this client never had whole: the next snapshot brings it
          const next = applyDelta(before ?? /** @type {DormitoryLiveState} */ ({ circuits: [] }), delta);
          states.set(delta.id, next);
          merged.push(next);
        }
        if (merged.length > 0) onDiff(merged);
      }
      else if (message.type === 'job' && onJob) onJob(message.job);
      else if (message.type === 'alarms' && onAlarms) onAlarms(message.alarms);
    });
    socket.addEventListener('close', (event) => {
      socket = null;
      if (closed) return;
      if (event.code === 4401) {
        onStatus('unauthorized');
        onUnauthorized(event.reason);
        return;
      }
      if (event.code === 4403) {
        onStatus('forbidden');
        return;
      }
      onStatus('reconnecting');
      retryTimer = window.setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, maxRetryMs);
    });
  };
  open();
  return {
    close() {
      closed = true;
      window.clearTimeout(retryTimer);
      if (socket) socket.close(1000, 'bye');
    },
  };
}
