// History from the server (GET /api/reports/usage, built from the interval readings): campus or
// building power and energy over 24 h, 7 d or 30 d, drawn with uPlot served from node_modules
// (/vendor/uplot/). Nothing is kept in the browser: a reload draws the same history again.
import { api } from './client.js';
import { formatDateTime, formatEnergy, formatMoney, formatPower, getTimeZone, t } from './i18n.js';
import uPlot from './vendor/uplot/uPlot.esm.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Each range: how far back, and the bucket it is drawn in. */
export const RANGES = {
  '24h': { spanMs: DAY_MS, interval: 'hour', bucketMs: HOUR_MS },
  '7d': { spanMs: 7 * DAY_MS, interval: 'hour', bucketMs: HOUR_MS },
  '30d': { spanMs: 30 * DAY_MS, interval: 'day', bucketMs: DAY_MS },
};

/**
 * The usage report of a scope over a range ending now on the server's clock: the server's `to`
 * is learned from a one-day report first, so a simulated campus clock is honoured.
 * @param {string} scope campus | building | dormitory | circuit
 * @param {string} id
 * @param {keyof typeof RANGES} range
 * @param {string} [interval] the range's own by default
 */
export async function fetchUsage(scope, id, range, interval = RANGES[range].interval) {
  const { spanMs } = RANGES[range];
  const base = `/api/reports/usage?scope=${encodeURIComponent(scope)}&id=${encodeURIComponent(id)}&interval=${interval}`;
  if (spanMs === DAY_MS) return api('GET', base);
  const probe = await api('GET', `/api/reports/usage?scope=${encodeURIComponent(scope)}&id=${encodeURIComponent(id)}&interval=day`);
  const to = Date.parse(probe.to);
  return api('GET', `${base}&from=${encodeURIComponent(new Date(to - spanMs).toISOString())}&to=${encodeURIComponent(probe.to)}`);
}

/** The chart in the sidebar: power (average and peak per bucket) or energy, with a range picker. */
export class HistoryChart {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {keyof typeof RANGES} */
    this.range = '24h';
    this.metric = 'power';
    this.scope = { scope: 'campus', id: '' };
    /** @type {any} */
    this.plot = null;
    /** @type {any} */
    this.report = null;
    this.sequence = 0;
    new window.ResizeObserver(() => this.plot && this.plot.setSize(this.size())).observe(container);
  }

  size() {
    return { width: Math.max(200, this.container.clientWidth), height: 180 };
  }

  /** @param {string} scope @param {string} id */
  setScope(scope, id) {
    this.scope = { scope, id };
    return this.load();
  }

  /** @param {keyof typeof RANGES} range */
  setRange(range) {
    this.range = range;
    return this.load();
  }

  /** @param {string} metric power | energy */
  setMetric(metric) {
    this.metric = metric;
    this.draw();
  }

  async load() {
    if (!this.scope.id) return;
    const sequence = ++this.sequence;
    this.container.dataset.state = 'loading';
    try {
      const report = await fetchUsage(this.scope.scope, this.scope.id, this.range);
      if (sequence !== this.sequence) return;
      this.report = report;
      this.draw();
    } catch (error) {
      if (sequence !== this.sequence) return;
      this.report = null;
      this.destroy();
      this.container.dataset.state = 'error';
      this.container.replaceChildren(t('dash.chartUnavailable', { message: /** @type {Error} */ (error).message }));
    }
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }

  draw() {
    const report = this.report;
    if (!report) return;
    const bucketMs = RANGES[this.range].bucketMs;
    const buckets = report.buckets || [];
    const x = buckets.map((/** @type {any} */ b) => Date.parse(b.start) / 1000);
    const energyWh = buckets.map((/** @type {any} */ b) => b.energyWh);
    const totalWh = energyWh.reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0);
    Object.assign(this.container.dataset, { state: totalWh > 0 ? 'ready' : 'empty', buckets: String(buckets.length), energyWh: String(totalWh), range: this.range, metric: this.metric, scope: `${this.scope.scope}:${this.scope.id}` });
    const timeZone = getTimeZone();
    const power = this.metric === 'power';
    const data = power
      ? [x, energyWh.map((/** @type {number} */ wh) => Math.round((wh * HOUR_MS) / bucketMs)), buckets.map((/** @type {any} */ b) => b.peakW)]
      : [x, energyWh.map((/** @type {number} */ wh) => wh / 1000)];
    const series = power
      ? [{}, { label: t('dash.power'), stroke: '#4fd1c5', fill: 'rgba(79, 209, 197, 0.15)', width: 2, value: (/** @type {any} */ _u, /** @type {number} */ v) => formatPower(v) }, { label: t('dash.peak'), stroke: '#d29922', width: 1, dash: [4, 4], value: (/** @type {any} */ _u, /** @type {number} */ v) => formatPower(v) }]
      : [{}, { label: t('dash.energy'), stroke: '#58a6ff', fill: 'rgba(88, 166, 255, 0.35)', paths: uPlot.paths.bars({ size: [0.8, 40] }), value: (/** @type {any} */ _u, /** @type {number} */ v) => formatEnergy(v * 1000) }];
    this.destroy();
    this.container.replaceChildren();
    const axis = { stroke: '#8b949e', grid: { stroke: 'rgba(255,255,255,0.08)' }, ticks: { stroke: 'rgba(255,255,255,0.08)' } };
    this.plot = new uPlot(
      {
        ...this.size(),
        tzDate: (/** @type {number} */ ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        series: [{ value: (/** @type {any} */ _u, /** @type {number} */ v) => (v == null ? '–' : formatDateTime(v * 1000)) }, ...series.slice(1)],
        axes: [
          // Tick labels in the locale and the campus zone: hours over a day, dates beyond.
          { ...axis, values: (/** @type {any} */ _u, /** @type {number[]} */ ticks) => ticks.map((ts) => (this.range === '24h' ? formatDateTime(ts * 1000, 'time').slice(0, 5) : formatDateTime(ts * 1000, 'day'))) },
          { ...axis, size: 60, values: (/** @type {any} */ _u, /** @type {number[]} */ ticks) => ticks.map((v) => (power ? formatPower(v) : formatEnergy(v * 1000, { digits: 1 }))) },
        ],
        scales: { x: { time: true } },
      },
      data,
      this.container,
    );
    if (totalWh === 0) this.container.append(Object.assign(document.createElement('p'), { className: 'muted small chart-empty', textContent: t('dash.chartEmpty') }));
  }
}

/**
 * The room drawer's usage by day (last 7 campus days): kWh per circuit and the room's cost.
 * A circuit's id is `<electric meter>:<kind>` (docs/reports.md).
 * @param {HTMLElement} table a <table> with a thead row and a tbody
 * @param {{ id: string, meters?: { id: string, kind: string }[], circuits?: { kind: string, meterId?: string }[] }} detail
 */
export async function renderRoomHistory(table, detail) {
  const meter = (detail.meters || []).find((m) => m.kind === 'electric');
  const kinds = [...new Set((detail.circuits || []).map((c) => c.kind))];
  const circuits = meter ? kinds.map((kind) => ({ kind, id: `${meter.id}:${kind}` })) : [];
  table.dataset.state = 'loading';
  const [room, ...perCircuit] = await Promise.all([fetchUsage('dormitory', detail.id, '7d', 'day'), ...circuits.map((c) => fetchUsage('circuit', c.id, '7d', 'day'))]);
  const head = table.querySelector('thead tr');
  const body = table.querySelector('tbody');
  if (!head || !body) return;
  const th = (/** @type {string} */ text) => Object.assign(document.createElement('th'), { textContent: text });
  head.replaceChildren(th(t('panel.day')), ...circuits.map((c) => th(t(`circuit.${c.kind}`))), th(t('panel.costPerDay')));
  const energyOn = (/** @type {any} */ report, /** @type {string} */ start) => (report.buckets.find((/** @type {any} */ b) => b.start === start) || { energyWh: 0 }).energyWh;
  body.replaceChildren(
    ...room.buckets.map((/** @type {any} */ day) => {
      const row = document.createElement('tr');
      row.dataset.day = day.start;
      const cells = [formatDateTime(day.start, 'date'), ...perCircuit.map((report) => formatEnergy(energyOn(report, day.start))), formatMoney(day.costFen ?? 0)];
      row.append(...cells.map((text, i) => Object.assign(document.createElement('td'), { textContent: text, className: i === 0 ? '' : 'num' })));
      return row;
    }),
  );
  table.dataset.state = 'ready';
}
