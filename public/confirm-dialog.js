// Dangerous actions (cut all, release of a lock-out) ask first: a modal with what will happen
// and a reason, which the caller sends to the server for the audit log.
import { t } from './i18n.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Opens #confirm-dialog and resolves with the trimmed reason, or null when cancelled.
 * @param {{ title: string, body: string, confirmLabel: string, reason?: string }} options
 * @returns {Promise<string | null>}
 */
export function confirmWithReason({ title, body, confirmLabel, reason = '' }) {
  const dialog = /** @type {HTMLDialogElement} */ ($('confirm-dialog'));
  const form = /** @type {HTMLFormElement} */ ($('confirm-form'));
  const input = /** @type {HTMLInputElement} */ ($('confirm-reason'));
  const error = $('confirm-error');
  $('confirm-title').textContent = title;
  $('confirm-body').textContent = body;
  $('confirm-ok').textContent = confirmLabel;
  input.value = reason;
  error.hidden = true;
  return new Promise((resolve) => {
    const finish = (/** @type {string | null} */ value) => {
      form.removeEventListener('submit', onSubmit);
      $('confirm-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (/** @type {SubmitEvent} */ event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) {
        error.textContent = t('confirm.reasonRequired');
        error.hidden = false;
        input.focus();
        return;
      }
      finish(text);
    };
    const onCancel = (/** @type {Event} */ event) => {
      event.preventDefault();
      finish(null);
    };
    form.addEventListener('submit', onSubmit);
    $('confirm-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
    input.select();
  });
}
