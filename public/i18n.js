// Languages for every page: zh-CN and en, a switch, and formatting of numbers, money, energy and
// times in the chosen locale. Plain ES module, no build step, no network (docs/i18n.md).
//
// A page registers its dictionary (public/locales/<page>.js) and marks its static text:
//   <h1 data-i18n="student.title">My room</h1>            textContent
//   <input data-i18n-attr="placeholder:student.amount">  attributes, "attr:key;attr:key"
// and calls t('key', { name: value }) for text it builds. When the locale changes, marked
// elements are re-translated and every onLocaleChange listener runs (to re-render the rest).
// Times are shown in the campus time zone (setTimeZone), never the browser's.

/** @typedef {'zh-CN' | 'en'} Locale */
/** @typedef {Record<string, string>} Messages */
/** @typedef {{ en: Messages, 'zh-CN': Messages }} Dictionary */

/** @type {readonly Locale[]} */
export const LOCALES = ['zh-CN', 'en'];
/** Each locale's name in itself, for the switch. */
export const LOCALE_NAMES = { 'zh-CN': '中文', en: 'English' };
export const LOCALE_KEY = 'campus-prepaid.locale';
/** Until a page learns its campus's zone; the seed campuses are Chinese. */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

const state = {
  /** @type {Locale} */
  locale: 'en',
  timeZone: DEFAULT_TIME_ZONE,
  /** @type {Dictionary[]} */
  dictionaries: [],
  /** @type {Set<(locale: Locale) => void>} */
  listeners: new Set(),
  /** @type {Map<string, Intl.NumberFormat | Intl.DateTimeFormat>} */
  formats: new Map(),
};

/**
 * The stored choice, else the browser's first language that we have: any `zh` (zh, zh-TW,
 * zh-Hans-CN) is zh-CN, anything else English.
 * @param {readonly string[]} [languages] defaults to navigator.languages
 * @returns {Locale}
 */
export function detectLocale(languages) {
  let stored;
  try {
    stored = window.localStorage.getItem(LOCALE_KEY);
  } catch {
    stored = null; // storage disabled: the browser's language decides
  }
  if (stored === 'zh-CN' || stored === 'en') return stored;
  const navigator = window.navigator;
  const list = languages || (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en']);
  for (const language of list) {
    const lower = String(language).toLowerCase();
    if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN';
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
  }
  return 'en';
}

/** @returns {Locale} */
export function getLocale() {
  return state.locale;
}

/**
 * Switches the language, remembers it in localStorage, re-translates the document and tells
 * the listeners. An unknown locale is ignored.
 * @param {string} locale
 * @param {{ persist?: boolean }} [options]
 */
export function setLocale(locale, options = {}) {
  if (locale !== 'zh-CN' && locale !== 'en') return;
  const changed = locale !== state.locale;
  state.locale = locale;
  state.formats.clear();
  if (options.persist !== false) {
    try {
      window.localStorage.setItem(LOCALE_KEY, locale);
    } catch {
      // Private mode: the choice lasts for this page.
    }
  }
  document.documentElement.lang = locale;
  translateDocument();
  for (const select of document.querySelectorAll('select[data-locale-switch]')) /** @type {HTMLSelectElement} */ (select).value = locale;
  if (changed) for (const listener of state.listeners) listener(locale);
}

/** @param {(locale: Locale) => void} listener @returns {() => void} unsubscribe */
export function onLocaleChange(listener) {
  state.listeners.add(listener);
  return () => state.listeners.delete(listener);
}

/**
 * Adds a page's messages; later dictionaries win on the same key.
 * @param {Dictionary} dictionary
 */
export function registerDictionary(dictionary) {
  state.dictionaries.push(dictionary);
}

/**
 * The message for `key` in the current locale (else English, else the key itself), with
 * `{name}` placeholders filled from `params`.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params) {
  const template = lookup(state.locale, key) ?? lookup('en', key) ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** True when some dictionary has `key` (for optional labels such as alarm kinds). */
export function hasMessage(/** @type {string} */ key) {
  return lookup('en', key) !== undefined || lookup(state.locale, key) !== undefined;
}

/** @param {Locale} locale @param {string} key @returns {string | undefined} */
function lookup(locale, key) {
  for (let i = state.dictionaries.length - 1; i >= 0; i--) {
    const messages = state.dictionaries[i][locale];
    if (messages && Object.prototype.hasOwnProperty.call(messages, key)) return messages[key];
  }
  return undefined;
}

/** Re-applies `data-i18n` and `data-i18n-attr` under `root`. */
export function translateDocument(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(/** @type {HTMLElement} */ (node).dataset.i18n || '');
  for (const node of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of (/** @type {HTMLElement} */ (node).dataset.i18nAttr || '').split(';')) {
      const [attribute, key] = pair.split(':').map((s) => s.trim());
      if (attribute && key) node.setAttribute(attribute, t(key));
    }
  }
  const title = document.querySelector('title[data-i18n]');
  if (title) document.title = title.textContent || document.title;
}

/**
 * Fills every `<select data-locale-switch>` with the locales and wires it to setLocale.
 * Call once per page, after registering its dictionaries.
 */
export function mountLocaleSwitch(root = document) {
  for (const node of root.querySelectorAll('select[data-locale-switch]')) {
    const select = /** @type {HTMLSelectElement} */ (node);
    if (select.dataset.mounted) continue;
    select.dataset.mounted = 'true';
    select.replaceChildren(
      ...LOCALES.map((locale) => {
        const option = document.createElement('option');
        option.value = locale;
        option.lang = locale;
        option.textContent = LOCALE_NAMES[locale];
        return option;
      }),
    );
    select.value = state.locale;
    select.addEventListener('change', () => setLocale(select.value));
  }
}

/**
 * Starts a page: registers its dictionaries, picks the locale (stored, else the browser's),
 * translates the document and mounts the switch.
 * @param {...Dictionary} dictionaries
 */
export function initI18n(...dictionaries) {
  for (const dictionary of dictionaries) registerDictionary(dictionary);
  setLocale(detectLocale(), { persist: false });
  mountLocaleSwitch();
}

// ---------------------------------------------------------------- time zone

/** The campus's IANA zone; an invalid one is refused (false) and the old one kept. */
export function setTimeZone(/** @type {string} */ zone) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    return false;
  }
  if (zone !== state.timeZone) {
    state.timeZone = zone;
    state.formats.clear();
  }
  return true;
}

export function getTimeZone() {
  return state.timeZone;
}

// ---------------------------------------------------------------- formatting

/** @template {Intl.NumberFormat | Intl.DateTimeFormat} F @param {string} key @param {() => F} make @returns {F} */
function cached(key, make) {
  let format = state.formats.get(key);
  if (!format) {
    format = make();
    state.formats.set(key, format);
  }
  return /** @type {F} */ (format);
}

/** A plain number in the locale: formatNumber(1234.5, { maximumFractionDigits: 1 }) -> "1,234.5". */
export function formatNumber(/** @type {number} */ value, /** @type {Intl.NumberFormatOptions} */ options = {}) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return cached(`n${JSON.stringify(options)}`, () => new Intl.NumberFormat(state.locale, options)).format(value);
}

/**
 * Minor units (fen) as yuan in the locale, "¥1,234.56". The decimal string is built in integer
 * arithmetic and handed to Intl as a string, so no float ever rounds money.
 * @param {number} fen
 * @param {{ signed?: boolean }} [options] signed: "+¥1.00" for a credit
 */
export function formatMoney(fen, options = {}) {
  if (typeof fen !== 'number' || !Number.isFinite(fen)) return '–';
  const whole = Math.trunc(fen);
  const abs = Math.abs(whole);
  const decimal = `${whole < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  const format = cached(`m${options.signed ? '+' : ''}`, () =>
    new Intl.NumberFormat(state.locale, { style: 'currency', currency: 'CNY', currencyDisplay: 'narrowSymbol', signDisplay: options.signed ? 'exceptZero' : 'auto' }),
  );
  // Intl.NumberFormat formats decimal strings exactly (ES2023); the cast is for older typings.
  return format.format(/** @type {number} */ (/** @type {unknown} */ (decimal)));
}

/** Energy from Wh: "12.35 kWh" (kWh with up to two decimals). */
export function formatEnergy(/** @type {number} */ wh, /** @type {{ digits?: number }} */ options = {}) {
  if (typeof wh !== 'number' || !Number.isFinite(wh)) return '–';
  const digits = options.digits ?? 2;
  return `${formatNumber(wh / 1000, { maximumFractionDigits: digits, minimumFractionDigits: 0 })} kWh`;
}

/** Power from W: "512 W", or "12.3 kW" from 10 kW. */
export function formatPower(/** @type {number} */ watts) {
  if (typeof watts !== 'number' || !Number.isFinite(watts)) return '–';
  if (Math.abs(watts) >= 10_000) return `${formatNumber(watts / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} kW`;
  return `${formatNumber(Math.round(watts))} W`;
}

/** @param {number | string | Date | null | undefined} at */
function toDate(at) {
  if (at === null || at === undefined) return null;
  const date = at instanceof Date ? at : new Date(at);
  return Number.isNaN(date.getTime()) ? null : date;
}

const STYLES = {
  datetime: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  date: { year: 'numeric', month: '2-digit', day: '2-digit' },
  time: { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
  day: { month: 'short', day: 'numeric' },
};

/**
 * A moment in the campus time zone and the locale: style `datetime` (default), `date`, `time`
 * or `day` (short month and day, for chart axes). "–" for no moment.
 * @param {number | string | Date | null | undefined} at
 * @param {keyof typeof STYLES} [style]
 */
export function formatDateTime(at, style = 'datetime') {
  const date = toDate(at);
  if (!date) return '–';
  const options = /** @type {Intl.DateTimeFormatOptions} */ ({ ...STYLES[style], timeZone: state.timeZone });
  return cached(`d${style}`, () => new Intl.DateTimeFormat(state.locale, options)).format(date);
}

/** The campus-local calendar day of a moment, "YYYY-MM-DD" (for grouping by day). */
export function campusDay(/** @type {number | string | Date} */ at) {
  const date = toDate(at);
  if (!date) return '';
  const parts = cached('iso-day', () => new Intl.DateTimeFormat('en-CA', { timeZone: state.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })).formatToParts(date);
  const part = (/** @type {string} */ type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** A campus day "YYYY-MM-DD" in the locale ("2026年11月30日" / "Nov 30, 2026"), without time-zone shifts. */
export function formatDay(/** @type {string} */ day) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return day;
  const noonUtc = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 12);
  return cached('calendar-day', () => new Intl.DateTimeFormat(state.locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })).format(new Date(noonUtc));
}
