// The office's Excel batches (check-ins, exchanges, check-outs; docs/imports.md): upload a
// workbook, follow the job's progress from the live feed (`{"type":"job"}` on /ws/live), then its
// summary or every bad row. One page, one task.
import { api, ApiError, clearSession, connectLive, el, loadSession } from './client.js';
import { formatNumber, initI18n, onLocaleChange, t } from './i18n.js';
import common from './locales/common.js';
import imports from './locales/imports.js';

initI18n(common, imports);

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const view = {
  /** @type {string | null} */
  jobId: null,
  /** @type {any} */
  job: null,
  /** @type {{ close(): void } | null} */
  live: null,
};

function note(/** @type {string} */ text) {
  $('imports-note').hidden = !text;
  $('imports-note').textContent = text;
}

const session = loadSession();
if (!session) window.location.assign('/');
else if (session.role === 'student') window.location.assign('/student.html');
else {
  view.live = connectLive({
    // The smallest scope there is: job progress goes to every staff client, whatever its scope.
    building: '__jobs__',
    onSnapshot: () => undefined,
    onDiff: () => undefined,
    onStatus: () => undefined,
    onUnauthorized: () => {
      clearSession();
      window.location.assign('/');
    },
    onJob: (job) => {
      if (job.id !== view.jobId) return;
      view.job = { ...view.job, ...job };
      render();
      if (job.state === 'done' || job.state === 'failed') void loadJob(job.id);
    },
  });
}

$('import-form').addEventListener('submit', async (/** @type {SubmitEvent} */ event) => {
  event.preventDefault();
  const file = $('import-file').files[0];
  if (!file) return;
  const kind = $('import-kind').value;
  const button = $('import-form').querySelector('button');
  button.disabled = true;
  note('');
  try {
    const form = new window.FormData();
    form.append('file', file, file.name);
    const response = await fetch(`/api/imports/${encodeURIComponent(kind)}`, { method: 'POST', headers: { authorization: `Bearer ${loadSession()?.token ?? ''}`, accept: 'application/json' }, body: form });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body?.error?.code ?? `HTTP_${response.status}`, body?.error?.message ?? `HTTP ${response.status}`, body?.error?.field);
    view.jobId = body.jobId;
    view.job = { id: body.jobId, kind, state: 'queued', progress: { done: 0, total: 0 }, errors: [] };
    render();
    // The feed may have told the end before the id was known: the job's record says.
    void loadJob(body.jobId);
  } catch (error) {
    note(t('imports.failed', { message: /** @type {Error} */ (error).message }));
  } finally {
    button.disabled = false;
  }
});

async function loadJob(/** @type {string} */ id) {
  try {
    const job = await api('GET', `/api/jobs/${encodeURIComponent(id)}`);
    if (id !== view.jobId) return;
    // A record read before the feed's last message must not move the bar back.
    if (view.job && view.job.progress && job.progress.done < view.job.progress.done && job.state === 'running') return;
    view.job = job;
    render();
  } catch (error) {
    note(t('imports.failed', { message: /** @type {Error} */ (error).message }));
  }
}

function render() {
  const job = view.job;
  $('job').hidden = !job;
  if (!job) return;
  $('job-id').textContent = job.id;
  $('job-state').dataset.state = job.state;
  $('job-state').textContent = t(`imports.state.${job.state}`);
  const { done, total } = job.progress || { done: 0, total: 0 };
  $('job-progress').max = Math.max(1, total);
  $('job-progress').value = done;
  $('job-count').textContent = t('imports.progress', { done: formatNumber(done), total: formatNumber(total) });
  const summary = job.summary;
  $('job-summary').textContent = summary && job.state === 'done' ? t('imports.summary', { rows: summary.rows ?? 0, opened: summary.studentsOpened ?? 0, settlements: summary.settlements ?? 0 }) : '';
  const errors = Array.isArray(job.errors) ? job.errors : [];
  $('job-errors').hidden = errors.length === 0;
  $('job-errors').querySelector('tbody').replaceChildren(...errors.map((/** @type {any} */ e) => el('tr', { dataset: { row: String(e.row) } }, el('td', {}, String(e.row)), el('td', {}, e.field), el('td', {}, e.message))));
}

onLocaleChange(render);
