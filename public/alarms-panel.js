// The control room's alarm panel: human titles, date and time in the campus time zone,
// severity, filters (state, kind, building) and server-side paging; acknowledge (seen, still
// active) apart from release (with a reason, audited); one gateway outage is one row with its
// rooms; a beep for each new critical alarm, which the operator can mute. Titles and messages
// are said in the page's language from each alarm's kind and fields (alarm-text.js).
import { AlarmSound } from './alarm-sound.js';
import { ALARM_KINDS, alarmMessage, alarmTitle } from './alarm-text.js';
import { api, ApiError, el } from './client.js';
import { confirmWithReason } from './confirm-dialog.js';
import { formatDateTime, hasMessage, t } from './i18n.js';

const PAGE_SIZE = 20;
const POLL_MS = 15_000;
/** Rooms listed on a gateway outage's row before "+N". */
const ROOMS_SHOWN = 12;

/** The filter's states: the server's three, with "active" split by acknowledgement. */
const STATE_QUERIES = {
  active: 'state=active',
  unacknowledged: 'state=active&acknowledged=false',
  acknowledged: 'state=active&acknowledged=true',
  released: 'state=released',
  cleared: 'state=cleared',
  all: '',
};

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class AlarmsPanel {
  /**
   * @param {{ openRoom: (id: string) => void }} options
   */
  constructor({ openRoom }) {
    this.openRoom = openRoom;
    this.sound = new AlarmSound();
    this.page = 1;
    this.total = 0;
    /** @type {any[]} */
    this.items = [];
    /** Newest critical, unacknowledged alarm id seen; null until the first load (no beep for old ones). */
    this.newestCritical = /** @type {number | null} */ (null);
    this.timer = 0;
    this.refreshQueued = 0;
    this.loading = Promise.resolve();
    this.available = true;
    this.note = '';

    for (const id of ['alarm-filter-state', 'alarm-filter-kind', 'alarm-filter-building']) {
      $(id).addEventListener('change', () => {
        this.page = 1;
        void this.refresh();
      });
    }
    $('alarm-prev').addEventListener('click', () => this.goTo(this.page - 1));
    $('alarm-next').addEventListener('click', () => this.goTo(this.page + 1));
    $('alarm-sound').addEventListener('click', () => {
      this.sound.setMuted(!this.sound.muted);
      this.renderSound();
    });
    $('alarms').addEventListener('click', (event) => {
      const target = /** @type {HTMLElement} */ (event.target);
      const room = target.closest('button[data-room]');
      if (room) this.openRoom(/** @type {HTMLElement} */ (room).dataset.room || '');
      const action = /** @type {HTMLButtonElement | null} */ (target.closest('button[data-alarm-action]'));
      if (action) void this.act(action);
    });
  }

  start() {
    this.fillFilters([]);
    this.renderSound();
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), POLL_MS);
  }

  stop() {
    window.clearInterval(this.timer);
    window.clearTimeout(this.refreshQueued);
  }

  /** The live feed saw a room's alarm count change: refresh soon, once for a burst. */
  changed() {
    window.clearTimeout(this.refreshQueued);
    this.refreshQueued = window.setTimeout(() => void this.refresh(), 300);
  }

  /** @param {{ id: string, name: string }[]} buildings */
  fillFilters(buildings) {
    const stateSelect = /** @type {HTMLSelectElement} */ ($('alarm-filter-state'));
    const kindSelect = /** @type {HTMLSelectElement} */ ($('alarm-filter-kind'));
    const buildingSelect = /** @type {HTMLSelectElement} */ ($('alarm-filter-building'));
    const keep = [stateSelect.value || 'active', kindSelect.value, buildingSelect.value];
    stateSelect.replaceChildren(...Object.keys(STATE_QUERIES).map((state) => el('option', { value: state }, t(`alarms.state.${state}`))));
    kindSelect.replaceChildren(el('option', { value: '' }, t('alarms.anyKind')), ...ALARM_KINDS.map((kind) => el('option', { value: kind }, alarmTitle(kind))));
    if (buildings.length > 0 || buildingSelect.options.length === 0) {
      buildingSelect.replaceChildren(el('option', { value: '' }, t('alarms.anyBuilding')), ...buildings.map((b) => el('option', { value: b.id }, b.name || b.id)));
    }
    [stateSelect.value, kindSelect.value, buildingSelect.value] = keep;
    if (!buildingSelect.value) buildingSelect.value = '';
  }

  /** Re-draws in the current language (the filters' labels and the rows). */
  relabel() {
    const buildings = Array.from(/** @type {HTMLSelectElement} */ ($('alarm-filter-building')).options)
      .filter((o) => o.value)
      .map((o) => ({ id: o.value, name: o.textContent || o.value }));
    this.fillFilters(buildings);
    this.renderSound();
    this.render();
  }

  /** @param {number} page */
  goTo(page) {
    const pages = Math.max(1, Math.ceil(this.total / PAGE_SIZE));
    this.page = Math.min(Math.max(1, page), pages);
    void this.refresh();
  }

  query() {
    const state = /** @type {HTMLSelectElement} */ ($('alarm-filter-state')).value || 'active';
    const kind = /** @type {HTMLSelectElement} */ ($('alarm-filter-kind')).value;
    const building = /** @type {HTMLSelectElement} */ ($('alarm-filter-building')).value;
    const parts = [STATE_QUERIES[/** @type {keyof typeof STATE_QUERIES} */ (state)] ?? STATE_QUERIES.active, kind ? `kind=${encodeURIComponent(kind)}` : '', building ? `building=${encodeURIComponent(building)}` : '', `page=${this.page}`, `pageSize=${PAGE_SIZE}`];
    return parts.filter(Boolean).join('&');
  }

  /** Loads the page shown, and the newest critical alarm for the cue. Calls never overlap. */
  refresh() {
    this.loading = this.loading.then(() => this.load());
    return this.loading;
  }

  async load() {
    try {
      const [page, critical] = await Promise.all([api('GET', `/api/alarms?${this.query()}`), api('GET', '/api/alarms?state=active&severity=critical&acknowledged=false&pageSize=1')]);
      this.available = true;
      this.note = '';
      this.items = page.items || [];
      this.total = page.total || 0;
      this.counts = page.counts || { active: 0, unacknowledged: 0, critical: 0 };
      if (this.items.length === 0 && this.total > 0 && this.page > 1) {
        this.page = Math.max(1, Math.ceil(this.total / PAGE_SIZE));
        return this.load();
      }
      this.cue(critical.items && critical.items[0] ? critical.items[0].id : 0);
    } catch (error) {
      this.available = !(error instanceof ApiError && error.status === 404);
      this.note = this.available ? t('alarms.failed', { message: /** @type {Error} */ (error).message }) : t('alarms.unavailable');
      this.items = [];
      this.total = 0;
      this.counts = { active: 0, unacknowledged: 0, critical: 0 };
    }
    this.render();
  }

  /** Beeps once when a critical alarm newer than any seen arrives (not for those present at load). */
  cue(/** @type {number} */ newestId) {
    if (this.newestCritical !== null && newestId > this.newestCritical) {
      this.sound.beep();
      this.renderSound();
    }
    this.newestCritical = Math.max(this.newestCritical ?? 0, newestId);
  }

  renderSound() {
    const button = $('alarm-sound');
    button.setAttribute('aria-pressed', String(this.sound.muted));
    button.dataset.muted = String(this.sound.muted);
    button.dataset.beeps = String(this.sound.played);
    button.textContent = this.sound.muted ? t('alarms.muted') : t('alarms.mute');
  }

  render() {
    const counts = this.counts || { active: 0, unacknowledged: 0, critical: 0 };
    $('alarm-count').textContent = String(counts.active);
    $('alarm-count').title = t('alarms.active');
    $('alarm-unacknowledged').textContent = `${counts.unacknowledged} ${t('alarms.unacknowledged')}`;
    $('alarm-unacknowledged').hidden = counts.unacknowledged === 0;
    $('alarm-critical').textContent = `${counts.critical} ${t('alarms.critical')}`;
    $('alarm-critical').hidden = counts.critical === 0;
    const note = $('alarms-note');
    note.hidden = !this.note;
    note.textContent = this.note;
    $('alarms').replaceChildren(...this.items.map((alarm) => this.row(alarm)));
    if (this.items.length === 0 && !this.note) $('alarms').append(el('li', { class: 'muted' }, t('alarms.none')));
    const from = this.total === 0 ? 0 : (this.page - 1) * PAGE_SIZE + 1;
    const to = Math.min(this.total, this.page * PAGE_SIZE);
    $('alarm-range').textContent = t('alarms.range', { from, to, total: this.total });
    /** @type {HTMLButtonElement} */ ($('alarm-prev')).disabled = this.page <= 1;
    /** @type {HTMLButtonElement} */ ($('alarm-next')).disabled = to >= this.total;
  }

  /** @param {any} alarm */
  row(alarm) {
    const acknowledged = Boolean(alarm.acknowledgedAt);
    const rooms = Array.isArray(alarm.rooms) ? alarm.rooms : alarm.dormitoryId ? [alarm.dormitoryId] : [];
    const roomButton = (/** @type {string} */ room) => el('button', { type: 'button', class: 'link room-link', dataset: { room } }, room);
    const where = alarm.gatewayId && !alarm.dormitoryId
      ? [el('span', { class: 'gateway' }, t('alarms.gatewayRooms', { gateway: alarm.gatewayId, count: rooms.length })), ...rooms.slice(0, ROOMS_SHOWN).map(roomButton), rooms.length > ROOMS_SHOWN ? el('span', { class: 'muted' }, `+${rooms.length - ROOMS_SHOWN}`) : null]
      : [...rooms.map(roomButton), alarm.circuit ? el('span', { class: 'muted' }, hasMessage(`circuit.${alarm.circuit}`) ? t(`circuit.${alarm.circuit}`) : alarm.circuit) : null];
    const status =
      alarm.state === 'released'
        ? t('alarms.releasedBy', { who: alarm.releasedBy || '–', time: formatDateTime(alarm.releasedAt) })
        : alarm.state === 'cleared'
          ? t('alarms.clearedAt')
          : acknowledged
            ? t('alarms.acknowledgedBy', { who: alarm.acknowledgedBy || '–', time: formatDateTime(alarm.acknowledgedAt) })
            : '';
    return el(
      'li',
      { class: 'alarm', dataset: { alarmId: String(alarm.id), kind: alarm.kind, severity: alarm.severity || 'warning', state: alarm.state, acknowledged: String(acknowledged) } },
      el(
        'div',
        { class: 'alarm-head' },
        el('strong', { class: 'alarm-title' }, alarmTitle(alarm.kind)),
        el('span', { class: 'severity', dataset: { severity: alarm.severity } }, hasMessage(`severity.${alarm.severity}`) ? t(`severity.${alarm.severity}`) : alarm.severity),
        el('time', { class: 'alarm-time muted small', datetime: alarm.raisedAt }, formatDateTime(alarm.raisedAt)),
      ),
      el('div', { class: 'alarm-rooms' }, where),
      el('p', { class: 'alarm-message' }, alarmMessage(alarm)),
      status ? el('p', { class: 'alarm-status muted small' }, status) : null,
      alarm.state === 'active'
        ? el(
            'div',
            { class: 'alarm-actions' },
            acknowledged ? null : el('button', { type: 'button', class: 'small', dataset: { alarmAction: 'acknowledge', alarmId: String(alarm.id) } }, t('alarms.acknowledge')),
            el('button', { type: 'button', class: 'small danger', dataset: { alarmAction: 'release', alarmId: String(alarm.id) } }, t('alarms.release')),
          )
        : null,
    );
  }

  /** @param {HTMLButtonElement} button */
  async act(button) {
    const id = Number(button.dataset.alarmId);
    const alarm = this.items.find((a) => a.id === id);
    const action = button.dataset.alarmAction;
    let body = undefined;
    if (action === 'release') {
      const reason = await confirmWithReason({ title: t('confirm.release.title', { title: alarmTitle(alarm ? alarm.kind : '') }), body: t('confirm.release.body'), confirmLabel: t('confirm.release.ok') });
      if (reason === null) return;
      body = { reason };
    }
    button.disabled = true;
    try {
      await api('POST', `/api/alarms/${encodeURIComponent(String(id))}/${action}`, body);
    } catch (error) {
      this.note = t('alarms.actionFailed', { action: button.textContent || String(action), message: /** @type {Error} */ (error).message });
      button.disabled = false;
      $('alarms-note').hidden = false;
      $('alarms-note').textContent = this.note;
      return;
    }
    await this.refresh();
  }
}
