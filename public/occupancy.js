// Check-in, exchange, swap and check-out one student at a time (office page). Each asks for
// confirmation, then shows what the server did: the stays closed and opened and the leaving
// student's settlement per purse (a refund the room owes them, or a charge they owe).
import { api, el } from './client.js';
import { formatDay, formatMoney, formatNumber, onLocaleChange, t } from './i18n.js';
import occupancy from './locales/occupancy.js';
import { confirmAction, startOfficePage, onSubmit } from './office.js';

const ACTIONS = ['check-in', 'exchange', 'swap', 'check-out'];
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const view = {
  action: 'check-in',
  /** @type {{ action: string, changes: any[] } | null} */
  result: null,
};

await startOfficePage({ page: 'occupancy', roles: ['admin', 'manager'], dictionaries: [occupancy] });

function choose(/** @type {string} */ action) {
  if (!ACTIONS.includes(action)) return;
  view.action = action;
  for (const button of $('actions').querySelectorAll('button[data-action]')) button.setAttribute('aria-pressed', String(button.dataset.action === action));
  for (const name of ACTIONS) $(`form-${name}`).hidden = name !== action;
}
$('actions').addEventListener('click', (/** @type {MouseEvent} */ event) => {
  const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest('button[data-action]'));
  if (button) choose(button.dataset.action || '');
});

const bed = (/** @type {string | undefined} */ text) => (text === undefined ? undefined : /^\d+$/.test(text) ? Number(text) : text);
const path = (/** @type {string} */ id) => encodeURIComponent(id);

/**
 * Each action: what it asks the user, and the request. Field aliases put errors named by a path
 * parameter (`id`) or only by their code at the form's field.
 * @type {Record<string, { confirm: (v: Record<string, string>) => string, send: (v: Record<string, string>) => Promise<any[]>, aliases: Record<string, string> }>}
 */
const REQUESTS = {
  'check-in': {
    confirm: (v) => t('occupancy.confirm.check-in', { student: v.studentId, dormitory: v.dormitoryId }),
    send: async (v) => [await api('POST', `/api/dormitories/${path(v.dormitoryId)}/check-ins`, { studentId: v.studentId, bed: bed(v.bed), date: v.date })],
    aliases: { id: 'dormitoryId', DORMITORY_NOT_FOUND: 'dormitoryId', DORMITORY_FULL: 'dormitoryId', STUDENT_NOT_FOUND: 'studentId' },
  },
  exchange: {
    confirm: (v) => t('occupancy.confirm.exchange', { student: v.studentId, dormitory: v.toDormitoryId }),
    send: async (v) => [await api('POST', `/api/students/${path(v.studentId)}/exchange`, { toDormitoryId: v.toDormitoryId, bed: bed(v.bed) })],
    aliases: { id: 'studentId', STUDENT_NOT_FOUND: 'studentId', NOT_CHECKED_IN: 'studentId', DORMITORY_FULL: 'toDormitoryId' },
  },
  swap: {
    confirm: (v) => t('occupancy.confirm.swap', { student: v.studentId, other: v.withStudentId }),
    send: async (v) => (await api('POST', `/api/students/${path(v.studentId)}/swap`, { withStudentId: v.withStudentId })).changes,
    aliases: { id: 'studentId', STUDENT_NOT_FOUND: 'studentId', NOT_CHECKED_IN: 'studentId' },
  },
  'check-out': {
    confirm: (v) => t('occupancy.confirm.check-out', { student: v.studentId }),
    send: async (v) => [await api('POST', `/api/students/${path(v.studentId)}/check-out`, v.date ? { date: v.date } : {})],
    aliases: { id: 'studentId', STUDENT_NOT_FOUND: 'studentId', NOT_CHECKED_IN: 'studentId' },
  },
};

for (const action of ACTIONS) {
  const request = REQUESTS[action];
  onSubmit(
    $(`form-${action}`),
    async (values) => {
      const confirmed = await confirmAction({ title: t(`occupancy.action.${action}`), body: request.confirm(values), confirmLabel: t(`occupancy.action.${action}`) });
      if (!confirmed) return;
      view.result = { action, changes: await request.send(values) };
      render();
    },
    request.aliases,
  );
}

/** @param {any} stay */
const stayText = (stay, /** @type {'closed' | 'opened'} */ side) =>
  side === 'closed'
    ? t('occupancy.closed', { student: stay.studentId, dormitory: stay.dormitoryId, bed: stay.bed ?? '–', day: formatDay(stay.toDay) })
    : t('occupancy.opened', { student: stay.studentId, dormitory: stay.dormitoryId, bed: stay.bed ?? '–', day: formatDay(stay.fromDay) });

function render() {
  const result = view.result;
  $('result').hidden = !result;
  if (!result) return;
  $('result').dataset.action = result.action;
  $('result-title').textContent = t(`occupancy.done.${result.action}`);
  const stays = result.changes.flatMap((change) => [change.closed ? el('li', { dataset: { side: 'closed' } }, stayText(change.closed, 'closed')) : null, change.opened ? el('li', { dataset: { side: 'opened' } }, stayText(change.opened, 'opened')) : null]);
  $('result-stays').replaceChildren(...stays.filter(Boolean));
  const settlements = result.changes.flatMap((change) => change.settlements);
  $('result-settlements').hidden = settlements.length === 0;
  $('result-settlements').querySelector('tbody').replaceChildren(
    ...settlements.map((/** @type {any} */ s) =>
      el(
        'tr',
        { class: 'settlement', dataset: { purse: s.purse, direction: s.direction, student: s.studentId } },
        el('td', {}, s.studentId),
        el('td', {}, s.dormitoryId),
        el('td', {}, t(`purse.${s.purse}`)),
        el('td', { class: 'num' }, formatNumber(s.days)),
        el('td', { class: 'num' }, formatMoney(s.contributionsFen)),
        el('td', { class: 'num' }, formatMoney(s.consumptionShareFen)),
        el('td', { class: 'num' }, formatMoney(s.sharedCreditShareFen)),
        el('td', { class: 'direction' }, t(`settlement.${s.direction}`)),
        el('td', { class: 'num amount' }, formatMoney(s.amountFen)),
      ),
    ),
  );
}

onLocaleChange(render);

// Opened from a student's record: /occupancy.html?action=check-out&student=2026101
const params = new window.URL(window.location.href).searchParams;
choose(params.get('action') || 'check-in');
const student = params.get('student');
if (student) for (const action of ACTIONS) $(`form-${action}`).elements.namedItem('studentId').value = student;
