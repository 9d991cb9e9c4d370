// Finding a room: a search box (room, student number or name, through GET /api/dormitories?q=)
// whose results open the room drawer. "/" anywhere focuses it; arrows move, Enter opens,
// Escape closes the list.
import { api, el } from './client.js';
import { t } from './i18n.js';

const DEBOUNCE_MS = 200;
const RESULTS = 8;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class RoomSearch {
  /** @param {{ openRoom: (id: string) => void }} options */
  constructor({ openRoom }) {
    this.openRoom = openRoom;
    this.input = /** @type {HTMLInputElement} */ ($('search'));
    this.list = $('search-results');
    this.timer = 0;
    this.sequence = 0;
    this.active = -1;
    /** @type {{ id: string }[]} */
    this.results = [];

    this.input.addEventListener('input', () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.search(), DEBOUNCE_MS);
    });
    this.input.addEventListener('keydown', (event) => this.onKey(event));
    this.input.addEventListener('blur', () => window.setTimeout(() => this.close(), 150));
    this.list.addEventListener('mousedown', (event) => event.preventDefault());
    this.list.addEventListener('click', (event) => {
      const item = /** @type {HTMLElement} */ (event.target).closest('[data-result]');
      if (item) this.pick(/** @type {HTMLElement} */ (item).dataset.result || '');
    });
    document.addEventListener('keydown', (event) => {
      const target = /** @type {HTMLElement} */ (event.target);
      const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.isContentEditable;
      if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey && this.input.offsetParent !== null) {
        event.preventDefault();
        this.input.focus();
        this.input.select();
      }
    });
  }

  async search() {
    const q = this.input.value.trim();
    const sequence = ++this.sequence;
    if (!q) {
      this.close();
      return;
    }
    let page;
    try {
      page = await api('GET', `/api/dormitories?q=${encodeURIComponent(q)}&pageSize=${RESULTS}`);
    } catch (error) {
      if (sequence === this.sequence) this.show([], /** @type {Error} */ (error).message);
      return;
    }
    if (sequence !== this.sequence) return; // a newer query is on its way
    this.show(page.items || [], page.items && page.items.length ? '' : t('dash.searchNone', { q }));
  }

  /** @param {any[]} items @param {string} note */
  show(items, note) {
    this.results = items;
    this.active = items.length > 0 ? 0 : -1;
    this.list.replaceChildren(
      ...items.map((d, i) =>
        el(
          'li',
          { role: 'option', class: 'search-result', dataset: { result: d.id }, 'aria-selected': String(i === this.active) },
          el('strong', {}, d.id),
          el('span', { class: 'muted small' }, ` ${d.buildingName || d.building || ''} · ${d.room}`),
        ),
      ),
    );
    if (note) this.list.append(el('li', { class: 'muted small search-note' }, note));
    this.list.hidden = false;
  }

  /** @param {KeyboardEvent} event */
  onKey(event) {
    if (event.key === 'Escape') {
      this.close();
      this.input.blur();
      return;
    }
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (this.results.length === 0) return;
      event.preventDefault();
      this.active = (this.active + (event.key === 'ArrowDown' ? 1 : -1) + this.results.length) % this.results.length;
      Array.from(this.list.querySelectorAll('[data-result]')).forEach((node, i) => node.setAttribute('aria-selected', String(i === this.active)));
      return;
    }
    if (event.key === 'Enter') {
      event.preventDefault();
      const chosen = this.results[this.active];
      if (chosen) this.pick(chosen.id);
      else void this.search();
    }
  }

  /** @param {string} id */
  pick(id) {
    this.close();
    this.input.value = '';
    this.input.blur();
    this.openRoom(id);
  }

  close() {
    this.list.hidden = true;
    this.results = [];
    this.active = -1;
  }
}
