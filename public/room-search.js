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
    /** @type {string | null} the query the shown list answers (null: no list) */
    this.shownQuery = null;

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

  /** @param {boolean} [openFirst] open the first result as soon as it comes (Enter before the list) */
  async search(openFirst = false) {
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
    if (openFirst && page.items && page.items.length > 0) return this.pick(page.items[0].id);
    this.show(page.items || [], page.items && page.items.length ? '' : t('dash.searchNone', { q }), q);
  }

  /** @param {any[]} items @param {string} note @param {string | null} [q] the query these results answer */
  show(items, note, q = null) {
    this.shownQuery = q;
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
      // Enter acts on the text in the box: a list left by an older query (a debounce that fired mid-typing) or an
      // empty one is not it, so search the text now and open its first room when the answer comes.
      if (this.shownQuery !== this.input.value.trim() || this.results.length === 0) {
        window.clearTimeout(this.timer);
        void this.search(true);
        return;
      }
      const chosen = this.results[this.active];
      if (chosen) this.pick(chosen.id);
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
    this.shownQuery = null;
  }
}
