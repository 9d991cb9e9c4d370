// Tariffs (office page): every tariff with its versions; a draft of the next version is dry-run
// against the recorded interval readings (old and new cost per dormitory, nothing billed) and
// published with the campus day it takes effect (the live meters switch at that day's midnight).
import { api, ApiError, el } from './client.js';
import { campusDay, formatDateTime, formatMoney, formatNumber, onLocaleChange, t } from './i18n.js';
import tariffs from './locales/tariffs.js';
import { campusMidnight, confirmAction, onSubmit, startOfficePage } from './office.js';

const DRY_RUN_DAYS = 30;
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const view = {
  /** @type {any[]} */
  tariffs: [],
  /** @type {any} */
  selected: null,
  /** @type {any} */
  dryRun: null,
};

const session = await startOfficePage({ page: 'tariffs', roles: ['admin', 'manager', 'finance'], dictionaries: [tariffs] });
const writer = session.role === 'admin' || session.role === 'finance';

$('tariffs').addEventListener('click', (/** @type {MouseEvent} */ event) => {
  const row = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest('tr[data-tariff]'));
  if (row) select(row.dataset.tariff || '');
});

/** The draft's definition, or a 400-like error at the field when it is not JSON. */
function draftDefinition(/** @type {Record<string, string>} */ values) {
  try {
    return JSON.parse(values.definition ?? '');
  } catch (error) {
    throw new ApiError(400, 'VALIDATION_FAILED', t('tariffs.notJson', { message: /** @type {Error} */ (error).message }), 'definition');
  }
}

onSubmit($('draft-form'), async (values, intent) => {
  const tariff = view.selected;
  if (!tariff) return;
  const definition = draftDefinition(values);
  if (intent === 'dry-run') {
    const from = campusMidnight(values.from ?? '');
    const to = values.to ? campusMidnight(values.to) : undefined;
    view.dryRun = await api('POST', `/api/tariffs/${encodeURIComponent(tariff.id)}/dry-run`, { definition, from: from || values.from, ...(to ? { to } : {}) });
    renderDryRun();
    return;
  }
  const effectiveFrom = campusMidnight(values.effectiveFrom ?? '');
  if (!effectiveFrom) throw new ApiError(400, 'VALIDATION_FAILED', t('tariffs.dayRequired'), 'effectiveFrom');
  const ok = await confirmAction({ title: t('tariffs.publishTitle', { id: tariff.id }), body: t('tariffs.publishBody', { day: formatDateTime(effectiveFrom) }), confirmLabel: t('tariffs.publish') });
  if (!ok) return;
  const updated = await api('PUT', `/api/tariffs/${encodeURIComponent(tariff.id)}`, { definition, effectiveFrom, ...(values.name ? { name: values.name } : {}) });
  $('draft-note').hidden = false;
  $('draft-note').textContent = t('tariffs.published', { version: updated.versions.at(-1).version, day: formatDateTime(effectiveFrom) });
  await load();
  select(updated.id, { keepDraft: true });
});

async function load() {
  view.tariffs = (await api('GET', '/api/tariffs')).tariffs;
  renderList();
}

/** @param {string} id @param {{ keepDraft?: boolean }} [options] */
function select(id, options = {}) {
  view.selected = view.tariffs.find((x) => x.id === id) ?? null;
  if (!options.keepDraft) {
    view.dryRun = null;
    const form = /** @type {HTMLFormElement} */ ($('draft-form'));
    const latest = view.selected?.versions.at(-1);
    /** @type {HTMLTextAreaElement} */ (form.elements.namedItem('definition')).value = latest ? JSON.stringify(latest.definition, null, 2) : '';
    const now = Date.now();
    /** @type {HTMLInputElement} */ (form.elements.namedItem('effectiveFrom')).value = campusDay(now + 86_400_000);
    /** @type {HTMLInputElement} */ (form.elements.namedItem('from')).value = campusDay(now - DRY_RUN_DAYS * 86_400_000);
    $('draft-note').hidden = true;
  }
  renderList();
  renderTariff();
  renderDryRun();
}

/** One line a person reads for a definition: "single 0.588 ¥/kWh", "time_of_use: peak 08:00–22:00 …". */
function summary(/** @type {any} */ d) {
  const rate = (/** @type {number} */ milli) => formatNumber(milli / 100_000, { maximumFractionDigits: 4 });
  switch (d && d.kind) {
    case 'single':
      return t('tariffs.kind.single', { rate: rate(d.rate) });
    case 'time_of_use':
      return `${t('tariffs.kind.time_of_use')}: ${d.periods.map((/** @type {any} */ p) => `${p.name} ${p.from}–${p.to} ${rate(p.rate)}`).join(' · ')}`;
    case 'tiered':
      return `${t('tariffs.kind.tiered')}: ${d.tiers.map((/** @type {any} */ x) => `${x.upTo === null || x.upTo === undefined ? '∞' : formatNumber(x.upTo)} ${rate(x.rate)}`).join(' · ')}`;
    case 'periodic':
      return `${t('tariffs.kind.periodic')}: ${d.rates.length} + ${rate(d.defaultRate)}`;
    default:
      return JSON.stringify(d);
  }
}

function renderList() {
  $('tariffs').querySelector('tbody').replaceChildren(
    ...view.tariffs.map((x) =>
      el('tr', { dataset: { tariff: x.id }, 'aria-selected': String(view.selected?.id === x.id) }, el('td', {}, el('button', { type: 'button', class: 'link' }, x.id)), el('td', {}, x.name), el('td', {}, t(`purse.${x.purse}`)), el('td', { class: 'num' }, String(x.currentVersion)), el('td', { class: 'num' }, String(x.versions.length))),
    ),
  );
}

function renderTariff() {
  const tariff = view.selected;
  $('tariff').hidden = !tariff;
  $('draft-form').hidden = !tariff || !writer;
  if (!tariff) return;
  $('tariff-name').textContent = tariff.name;
  $('tariff-id').textContent = tariff.id;
  $('versions').querySelector('tbody').replaceChildren(
    ...tariff.versions.map((/** @type {any} */ v) =>
      el(
        'tr',
        { dataset: { version: String(v.version), current: String(v.version === tariff.currentVersion) } },
        el('td', { class: 'num' }, String(v.version)),
        el('td', {}, v.effectiveFrom ? formatDateTime(v.effectiveFrom) : t('tariffs.fromStart')),
        el('td', {}, summary(v.definition)),
        el('td', {}, v.createdBy),
        el('td', {}, formatDateTime(v.createdAt)),
      ),
    ),
  );
}

function renderDryRun() {
  const report = view.dryRun;
  $('dry-run').hidden = !report;
  if (!report) return;
  // Base units are Wh and litres: shown as kWh and m³, the units the rates are per.
  const unit = report.purse === 'water' ? 'm³' : 'kWh';
  const usage = (/** @type {number} */ base) => `${formatNumber(base / 1000, { maximumFractionDigits: 3 })} ${unit}`;
  $('dry-run-period').textContent = t('tariffs.dryRunPeriod', { from: formatDateTime(report.from), to: formatDateTime(report.to), count: formatNumber(report.dormitories.length) });
  const row = (/** @type {any} */ line, /** @type {string} */ label, /** @type {Record<string, string>} */ attributes) =>
    el('tr', attributes, el('td', {}, label), el('td', { class: 'num' }, usage(line.usage)), el('td', { class: 'num old' }, formatMoney(line.oldCharge)), el('td', { class: 'num new' }, formatMoney(line.newCharge)), el('td', { class: 'num difference' }, formatMoney(line.difference, { signed: true })));
  $('dry-run-table').querySelector('tbody').replaceChildren(
    ...report.dormitories.map((/** @type {any} */ line) => row(line, line.dormitoryId, { dataset: { dormitory: line.dormitoryId } })),
    row(report.total, t('tariffs.total'), { class: 'total' }),
  );
}

onLocaleChange(() => {
  renderList();
  renderTariff();
  renderDryRun();
});

await load();
const wanted = new window.URL(window.location.href).searchParams.get('tariff');
if (wanted || view.tariffs.length > 0) select(wanted ?? view.tariffs[0].id);
