// Users (office page, admin only): create a staff user, change a role, disable or enable, reset a
// password (generated passwords are shown once). Disabling and resetting end the user's sessions
// on the server at once; both ask first.
import { api, el } from './client.js';
import { formatDateTime, formatNumber, onLocaleChange, t } from './i18n.js';
import users from './locales/users.js';
import { clearErrors, confirmAction, onSubmit, query, showError, startOfficePage } from './office.js';

const PAGE_SIZE = 25;
const ROLES = ['admin', 'manager', 'finance'];
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const view = {
  page: 1,
  total: 0,
  /** @type {any[]} */
  items: [],
};

const session = await startOfficePage({ page: 'users', roles: ['admin'], dictionaries: [users] });

function note(/** @type {string} */ text) {
  $('users-note').hidden = !text;
  $('users-note').textContent = text;
}

onSubmit($('create-form'), async (values) => {
  const result = await api('POST', '/api/users', values);
  /** @type {HTMLFormElement} */ ($('create-form')).reset();
  $('create-note').hidden = false;
  $('create-note').textContent = result.password ? `${t('users.created', { username: result.user.username })} ${t('office.generatedPassword', { password: result.password })}` : t('users.created', { username: result.user.username });
  await load();
});

$('role-filter').addEventListener('change', () => {
  view.page = 1;
  void load();
});
$('users-prev').addEventListener('click', () => {
  view.page = Math.max(1, view.page - 1);
  void load();
});
$('users-next').addEventListener('click', () => {
  view.page += 1;
  void load();
});

// Row actions share one form so a refusal (the last admin, a student's role) shows at its control.
$('users').addEventListener('change', (/** @type {Event} */ event) => {
  const select = /** @type {HTMLSelectElement} */ (event.target);
  if (select.dataset.field === 'role') void act(select.dataset.user || '', { kind: 'role', role: select.value });
});
$('users').addEventListener('click', (/** @type {MouseEvent} */ event) => {
  const button = /** @type {HTMLButtonElement | null} */ (/** @type {HTMLElement} */ (event.target).closest('button[data-user-action]'));
  if (button) void act(button.dataset.user || '', { kind: /** @type {any} */ (button.dataset.userAction) });
});

/**
 * @param {string} username
 * @param {{ kind: 'role', role: string } | { kind: 'disable' } | { kind: 'enable' } | { kind: 'reset' }} action
 */
async function act(username, action) {
  const form = /** @type {HTMLFormElement} */ ($('users-form'));
  clearErrors(form);
  note('');
  const ask = action.kind === 'disable' || action.kind === 'reset';
  if (ask && !(await confirmAction({ title: t(`users.confirm.${action.kind}.title`, { username }), body: t(`users.confirm.${action.kind}.body`), confirmLabel: t(`users.action.${action.kind}`) }))) return;
  try {
    if (action.kind === 'reset') {
      const result = await api('POST', `/api/users/${encodeURIComponent(username)}/password`, {});
      note(`${t('users.reset', { username, sessions: formatNumber(result.sessionsEnded) })} ${result.password ? t('office.generatedPassword', { password: result.password }) : ''}`);
    } else {
      const patch = action.kind === 'role' ? { role: action.role } : { disabled: action.kind === 'disable' };
      await api('PATCH', `/api/users/${encodeURIComponent(username)}`, patch);
      note(t('users.updated', { username }));
    }
  } catch (error) {
    // The row's own control carries the server's field name (role, disabled).
    for (const control of form.querySelectorAll('[data-field]')) control.removeAttribute('name');
    for (const control of form.querySelectorAll(`[data-user="${window.CSS.escape(username)}"][data-field]`)) control.setAttribute('name', /** @type {HTMLElement} */ (control).dataset.field || '');
    showError(form, error);
    return;
  }
  await load();
}

async function load() {
  const result = await api('GET', `/api/users?${query({ role: $('role-filter').value, page: view.page, pageSize: PAGE_SIZE })}`);
  view.items = result.items;
  view.total = result.total;
  render();
}

function render() {
  $('users').querySelector('tbody').replaceChildren(
    ...view.items.map((u) => {
      const staff = u.role !== 'student';
      const role = staff
        ? el('select', { dataset: { user: u.username, field: 'role' }, 'aria-label': t('users.role'), disabled: u.username === session.username }, ...ROLES.map((r) => el('option', { value: r, selected: r === u.role }, t(`role.${r}`))))
        : t('role.student');
      return el(
        'tr',
        { dataset: { username: u.username, role: u.role, disabled: String(u.disabled) } },
        el('td', {}, u.username),
        el('td', {}, u.displayName ?? '–'),
        el('td', {}, role),
        el('td', { class: 'state' }, u.disabled ? t('users.disabled') : t('users.active')),
        el('td', {}, formatDateTime(u.createdAt)),
        el(
          'td',
          {},
          el('button', { type: 'button', class: 'small', dataset: { user: u.username, userAction: 'reset' } }, t('users.action.reset')),
          ' ',
          el('button', { type: 'button', class: u.disabled ? 'small' : 'small danger', dataset: { user: u.username, userAction: u.disabled ? 'enable' : 'disable', field: 'disabled' } }, t(`users.action.${u.disabled ? 'enable' : 'disable'}`)),
        ),
      );
    }),
  );
  const from = view.total === 0 ? 0 : (view.page - 1) * PAGE_SIZE + 1;
  const to = Math.min(view.total, view.page * PAGE_SIZE);
  $('users-range').textContent = t('users.range', { from: formatNumber(from), to: formatNumber(to), total: formatNumber(view.total) });
  $('users-prev').disabled = view.page <= 1;
  $('users-next').disabled = to >= view.total;
}

onLocaleChange(render);
await load();
