// The student register (office page): search by number, name, college or class; open a student
// to see where they live now, their stays and their settlements; create a student with a login.
import { api, el } from './client.js';
import { formatDateTime, formatDay, formatMoney, formatNumber, onLocaleChange, t } from './i18n.js';
import students from './locales/students.js';
import { onSubmit, query, startOfficePage } from './office.js';

const PAGE_SIZE = 20;
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const view = {
  /** @type {Record<string, string>} */
  filter: {},
  page: 1,
  total: 0,
  /** @type {any[]} */
  items: [],
  /** @type {any} */
  detail: null,
  /** Each list request's number: a response to an older request (the opening list, a page asked for before a new search) is dropped, never drawn over a newer one. */
  request: 0,
};

const session = await startOfficePage({ page: 'students', roles: ['admin', 'manager', 'finance'], dictionaries: [students] });
const office = session.role === 'admin' || session.role === 'manager';
$('create-form').hidden = !office;

onSubmit($('search-form'), async (values) => {
  view.filter = values;
  view.page = 1;
  await load();
});

onSubmit(
  $('create-form'),
  async (values) => {
    const result = await api('POST', '/api/students', values);
    /** @type {HTMLFormElement} */ ($('create-form')).reset();
    $('create-note').hidden = false;
    $('create-note').textContent = result.password ? `${t('students.created', { id: result.student.id })} ${t('office.generatedPassword', { password: result.password })}` : t('students.created', { id: result.student.id });
    await open(result.student.id);
  },
);

$('results-prev').addEventListener('click', () => void goTo(view.page - 1));
$('results-next').addEventListener('click', () => void goTo(view.page + 1));
$('results').addEventListener('click', (/** @type {MouseEvent} */ event) => {
  const row = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest('tr[data-student]'));
  if (row) void open(row.dataset.student || '');
});

async function goTo(/** @type {number} */ page) {
  view.page = Math.max(1, page);
  await load();
}

async function load() {
  const request = ++view.request;
  const filter = { q: view.filter.q || '', college: view.filter.college || '', class: view.filter.class || '' };
  $('results').setAttribute('aria-busy', 'true');
  const result = await api('GET', `/api/students?${query({ q: filter.q, college: filter.college, class: filter.class, page: view.page, pageSize: PAGE_SIZE })}`);
  if (request !== view.request) return;
  view.items = result.items;
  view.total = result.total;
  // The search the rows answer, on the table: a reader (or a test) can tell the rows of the new search from the old ones.
  Object.assign($('results').dataset, filter);
  $('results').setAttribute('aria-busy', 'false');
  renderResults();
}

async function open(/** @type {string} */ id) {
  view.detail = await api('GET', `/api/students/${encodeURIComponent(id)}`);
  const url = new window.URL(window.location.href);
  url.searchParams.set('student', id);
  window.history.replaceState(null, '', url);
  renderDetail();
  renderResults();
}

const dash = (/** @type {unknown} */ value) => (value === null || value === undefined || value === '' ? '–' : String(value));

function renderResults() {
  const selected = view.detail ? view.detail.id : '';
  $('results').querySelector('tbody').replaceChildren(
    ...(view.items.length === 0 ? [el('tr', {}, el('td', { colspan: '6', class: 'muted' }, t('office.noRows')))] : []),
    ...view.items.map((s) =>
      el('tr', { dataset: { student: s.id }, 'aria-selected': String(s.id === selected), tabindex: '0' }, el('td', {}, el('button', { type: 'button', class: 'link' }, s.id)), el('td', {}, s.name), el('td', {}, dash(s.college)), el('td', {}, dash(s.className)), el('td', {}, dash(s.dormitoryId)), el('td', {}, dash(s.bed))),
    ),
  );
  const from = view.total === 0 ? 0 : (view.page - 1) * PAGE_SIZE + 1;
  const to = Math.min(view.total, view.page * PAGE_SIZE);
  $('results-range').textContent = t('students.range', { from: formatNumber(from), to: formatNumber(to), total: formatNumber(view.total) });
  $('results-prev').disabled = view.page <= 1;
  $('results-next').disabled = to >= view.total;
}

function renderDetail() {
  const s = view.detail;
  $('detail').hidden = !s;
  if (!s) return;
  $('detail-name').textContent = s.name;
  $('detail-id').textContent = s.id;
  $('detail-college').textContent = dash(s.college);
  $('detail-class').textContent = dash(s.className);
  $('detail-phone').textContent = dash(s.phone);
  $('detail-email').textContent = dash(s.email);
  $('detail-current').textContent = s.dormitoryId ? t('students.livesIn', { dormitory: s.dormitoryId, bed: dash(s.bed) }) : t('students.notCheckedIn');
  $('detail-current').dataset.dormitory = s.dormitoryId || '';
  const actions = office ? (s.dormitoryId ? ['exchange', 'swap', 'check-out'] : ['check-in']) : [];
  $('detail-actions').replaceChildren(...actions.map((action) => el('a', { href: `/occupancy.html?${query({ action, student: s.id })}` }, t(`students.action.${action}`))));
  $('detail-stays').querySelector('tbody').replaceChildren(
    ...(s.stays.length === 0 ? [el('tr', {}, el('td', { colspan: '5', class: 'muted' }, t('office.noRows')))] : []),
    ...s.stays.map((/** @type {any} */ stay) =>
      el('tr', { dataset: { stay: String(stay.id), dormitory: stay.dormitoryId } }, el('td', {}, stay.dormitoryId), el('td', {}, dash(stay.bed)), el('td', {}, formatDay(stay.fromDay)), el('td', {}, stay.toDay ? formatDay(stay.toDay) : t('students.open')), el('td', {}, stay.endReason ? t(`students.end.${stay.endReason}`) : '')),
    ),
  );
  $('detail-settlements').querySelector('tbody').replaceChildren(
    ...(s.settlements.length === 0 ? [el('tr', {}, el('td', { colspan: '6', class: 'muted' }, t('office.noRows')))] : []),
    ...s.settlements.map((/** @type {any} */ x) =>
      el(
        'tr',
        { class: 'settlement', dataset: { direction: x.direction, purse: x.purse } },
        el('td', {}, x.dormitoryId),
        el('td', {}, t(`purse.${x.purse}`)),
        el('td', { class: 'num' }, formatNumber(x.days)),
        el('td', {}, t(`settlement.${x.direction}`)),
        el('td', { class: 'num amount' }, formatMoney(x.amountFen)),
        el('td', {}, formatDateTime(x.settledAt)),
      ),
    ),
  );
}

onLocaleChange(() => {
  renderResults();
  renderDetail();
});

const initial = new window.URL(window.location.href).searchParams.get('student');
await load();
if (initial) await open(initial);
