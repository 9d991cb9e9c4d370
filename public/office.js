// What every office page shares (students, occupancy, tariffs, users; docs/control-room.md
// "Office pages"): the sign-in gate, the page's locale, forms that put the server's 4xx field
// errors next to the field, a plain confirmation dialog, and campus days as instants.
import { api, ApiError, clearSession, el, loadSession } from './client.js';
import { getTimeZone, initI18n, onLocaleChange, setTimeZone, t } from './i18n.js';
import common from './locales/common.js';
import office from './locales/office.js';

/** The office pages in the order of the navigation (each is `/<page>.html`). */
export const OFFICE_PAGES = ['students', 'occupancy', 'tariffs', 'users', 'imports'];

/** Fills `<nav id="office-nav">` with the office pages, the current one marked. */
function mountNav(/** @type {string} */ current, /** @type {string} */ role) {
  const nav = document.getElementById('office-nav');
  if (!nav) return;
  const draw = () =>
    nav.replaceChildren(
      el('a', { href: '/' }, t('office.back')),
      ...OFFICE_PAGES.filter((page) => page !== 'users' || role === 'admin').map((page) => el('a', { href: `/${page}.html`, 'aria-current': page === current ? 'page' : undefined }, t(`office.nav.${page}`))),
    );
  draw();
  onLocaleChange(draw);
}

/**
 * Starts an office page: its dictionaries, then the session. Anyone signed out goes to the
 * sign-in on `/`, a student to their own page, a staff role the page does not serve back to the
 * control room. Resolves with the session once the campus time zone is known.
 * @param {{ page: string, roles: readonly string[], dictionaries: import('./i18n.js').Dictionary[] }} options
 * @returns {Promise<{ token: string, role: string, username: string }>}
 */
export async function startOfficePage({ page, roles, dictionaries }) {
  initI18n(common, office, ...dictionaries);
  const session = loadSession();
  if (!session) {
    window.location.assign('/');
    return new Promise(() => undefined);
  }
  if (!roles.includes(session.role)) {
    window.location.assign(session.role === 'student' ? '/student.html' : '/');
    return new Promise(() => undefined);
  }
  mountNav(page, session.role);
  const operator = document.getElementById('operator');
  if (operator) operator.textContent = session.username;
  try {
    const campuses = await api('GET', '/api/campuses');
    const zone = Array.isArray(campuses?.campuses) ? campuses.campuses[0]?.timeZone : undefined;
    if (typeof zone === 'string') setTimeZone(zone);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signedOut();
  }
  return session;
}

/** The session ended under the page: back to the sign-in. */
export function signedOut() {
  clearSession();
  window.location.assign('/');
}

/**
 * The element of `form` that a server field names: `definition.periods[1].from` is shown at the
 * `definition` field, `scope.dormitoryIds` at `scope` (the longest named prefix wins); null when
 * the form has no such field.
 * @param {HTMLFormElement} form
 * @param {string} field
 * @returns {HTMLElement | null}
 */
export function fieldElement(form, field) {
  const parts = field.split(/[.[\]]+/).filter(Boolean);
  for (let length = parts.length; length > 0; length--) {
    const name = parts.slice(0, length).join('.');
    const found = form.querySelector(`[name="${window.CSS.escape(name)}"]`);
    if (found) return /** @type {HTMLElement} */ (found);
  }
  return null;
}

/** Removes a form's field errors and its form-level note. */
export function clearErrors(/** @type {HTMLFormElement} */ form) {
  for (const node of form.querySelectorAll('.field-error')) node.remove();
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  const note = form.querySelector('.form-error');
  if (note) {
    note.textContent = '';
    /** @type {HTMLElement} */ (note).hidden = true;
  }
}

/**
 * Where a form shows what the server names by a path parameter or only by its code: e.g.
 * `{ id: 'studentId', DORMITORY_NOT_FOUND: 'dormitoryId' }` (the server's field or error code ->
 * the form's field name).
 * @typedef {Record<string, string>} FieldAliases
 */

/**
 * Shows an API error on its form: next to the field it names (`data-field-error` holds the
 * server's field path), else in the form's `.form-error` note.
 * @param {HTMLFormElement} form
 * @param {unknown} error
 * @param {FieldAliases} [aliases]
 */
export function showError(form, error, aliases = {}) {
  if (error instanceof ApiError && error.status === 401) return signedOut();
  const message = error instanceof Error ? error.message : String(error);
  const named = error instanceof ApiError && error.field ? error.field : '';
  const code = error instanceof ApiError ? error.code : '';
  const field = (named && aliases[named]) || named || aliases[code] || '';
  const target = field ? fieldElement(form, field) : null;
  if (target) {
    target.setAttribute('aria-invalid', 'true');
    const holder = target.closest('label') ?? target;
    holder.after(el('small', { class: 'field-error error', role: 'alert', dataset: { fieldError: named || field } }, message));
    target.focus();
    return;
  }
  const note = /** @type {HTMLElement | null} */ (form.querySelector('.form-error'));
  if (note) {
    note.textContent = t('office.failed', { message });
    note.hidden = false;
  }
}

/**
 * Wires a form: on submit, clears its errors, disables its buttons, runs `action` with the form's
 * values (empty strings left out) and the submit button's value, and shows an error at its field.
 * @param {HTMLFormElement} form
 * @param {(values: Record<string, string>, submitter: string) => Promise<void>} action
 * @param {FieldAliases} [aliases]
 */
export function onSubmit(form, action, aliases = {}) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    void submit(form, (values) => action(values, submitter instanceof window.HTMLButtonElement ? submitter.value : ''), aliases);
  });
}

/** @param {HTMLFormElement} form @param {(values: Record<string, string>) => Promise<void>} action @param {FieldAliases} aliases */
async function submit(form, action, aliases) {
  clearErrors(form);
  const values = /** @type {Record<string, string>} */ ({});
  for (const [name, value] of new window.FormData(form).entries()) if (typeof value === 'string' && value.trim() !== '') values[name] = value.trim();
  const buttons = /** @type {NodeListOf<HTMLButtonElement>} */ (form.querySelectorAll('button'));
  for (const button of buttons) button.disabled = true;
  try {
    await action(values);
  } catch (error) {
    showError(form, error, aliases);
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

/** The page's #office-confirm, made on first use. */
function confirmDialog() {
  const found = document.getElementById('office-confirm');
  if (found) return /** @type {HTMLDialogElement} */ (found);
  const dialog = /** @type {HTMLDialogElement} */ (
    el(
      'dialog',
      { id: 'office-confirm', class: 'office-dialog' },
      el('form', { method: 'dialog' }, el('h2', { 'data-confirm-title': true }), el('p', { 'data-confirm-body': true }), el('div', { class: 'confirm-actions' }, el('button', { type: 'button', 'data-confirm-cancel': true }), el('button', { type: 'submit', class: 'primary', 'data-confirm-ok': true }))),
    )
  );
  document.body.append(dialog);
  return dialog;
}

/**
 * Asks before an action: a modal (#office-confirm) with a title and what will happen. Resolves true when
 * confirmed, false when cancelled (button or Escape).
 * @param {{ title: string, body: string, confirmLabel: string }} options
 * @returns {Promise<boolean>}
 */
export function confirmAction({ title, body, confirmLabel }) {
  const dialog = confirmDialog();
  const form = /** @type {HTMLFormElement} */ (dialog.querySelector('form'));
  /** @type {HTMLElement} */ (dialog.querySelector('[data-confirm-title]')).textContent = title;
  /** @type {HTMLElement} */ (dialog.querySelector('[data-confirm-body]')).textContent = body;
  const ok = /** @type {HTMLButtonElement} */ (dialog.querySelector('[data-confirm-ok]'));
  ok.textContent = confirmLabel;
  const cancel = /** @type {HTMLButtonElement} */ (dialog.querySelector('[data-confirm-cancel]'));
  cancel.textContent = t('office.cancel');
  return new Promise((resolve) => {
    const finish = (/** @type {boolean} */ value) => {
      form.removeEventListener('submit', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onOk = (/** @type {Event} */ event) => {
      event.preventDefault();
      finish(true);
    };
    const onCancel = (/** @type {Event} */ event) => {
      event.preventDefault();
      finish(false);
    };
    form.addEventListener('submit', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    ok.focus();
  });
}

/**
 * The instant a campus day begins (local midnight in the campus time zone), as ISO 8601: what a
 * date input means to the server. Two passes find the zone's offset, also across a DST switch.
 * @param {string} day YYYY-MM-DD
 */
export function campusMidnight(day) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return '';
  const wall = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const format = new Intl.DateTimeFormat('en-US', { timeZone: getTimeZone(), hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const offsetAt = (/** @type {number} */ at) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
    return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) - at;
  };
  let at = wall - offsetAt(wall);
  at = wall - offsetAt(at);
  return new Date(at).toISOString();
}

/** A query string from the given values, leaving out empty ones. */
export function query(/** @type {Record<string, string | number | undefined>} */ values) {
  const params = new window.URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== '') params.set(key, String(value));
  return params.toString();
}
