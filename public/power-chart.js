// A small line chart of campus power over the last minutes, drawn on a canvas. Self-contained
// (no chart library is installed in this project, and nothing may come from a CDN).

const NICE_STEPS = [1, 2, 2.5, 5, 10];

/** The smallest "nice" number (1, 2, 2.5, 5 x 10^n) at or above `value`. */
function niceCeil(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of NICE_STEPS) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

export class PowerChart {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas, { windowMs = 10 * 60_000 } = {}) {
    this.canvas = canvas;
    this.windowMs = windowMs;
    /** @type {{ t: number, w: number }[]} */
    this.samples = [];
  }

  add(timeMs, powerW) {
    this.samples.push({ t: timeMs, w: powerW });
    const oldest = timeMs - this.windowMs;
    while (this.samples.length > 0 && this.samples[0].t < oldest) this.samples.shift();
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const style = window.getComputedStyle(canvas);
    const lineColor = style.getPropertyValue('--chart-line').trim() || '#4fd1c5';
    const gridColor = style.getPropertyValue('--chart-grid').trim() || 'rgba(255,255,255,0.12)';
    const textColor = style.getPropertyValue('--chart-text').trim() || '#9aa5b1';

    const left = 52;
    const right = 8;
    const top = 8;
    const bottom = 22;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const now = this.samples.length > 0 ? this.samples[this.samples.length - 1].t : Date.now();
    // Until the window has filled, the axis spans what there is (at least ten seconds), so a
    // freshly opened screen shows a line rather than a dot at the right edge.
    const spanMs = Math.min(this.windowMs, Math.max(10_000, this.samples.length > 0 ? now - this.samples[0].t : 0));
    const start = now - spanMs;
    const maxW = niceCeil(Math.max(1000, ...this.samples.map((s) => s.w)) * 1.1);

    ctx.font = '12px system-ui, sans-serif';
    ctx.fillStyle = textColor;
    ctx.strokeStyle = gridColor;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (plotH * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + plotW, Math.round(y) + 0.5);
      ctx.stroke();
      const kw = (maxW * i) / 4 / 1000;
      ctx.fillText(`${kw >= 10 ? kw.toFixed(0) : kw.toFixed(1)} kW`, left - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let i = 0; i <= 2; i++) {
      const x = left + (plotW * i) / 2;
      const agoMs = (spanMs * (2 - i)) / 2;
      const label = i === 2 ? 'now' : agoMs >= 120_000 ? `-${Math.round(agoMs / 60_000)} min` : `-${Math.round(agoMs / 1000)} s`;
      ctx.fillText(label, Math.min(Math.max(x, left + 16), left + plotW - 16), top + plotH + 6);
    }

    if (this.samples.length === 0) return;
    const xOf = (t) => left + ((t - start) / spanMs) * plotW;
    const yOf = (w) => top + plotH - (Math.max(0, w) / maxW) * plotH;
    ctx.beginPath();
    this.samples.forEach((s, i) => (i === 0 ? ctx.moveTo(xOf(s.t), yOf(s.w)) : ctx.lineTo(xOf(s.t), yOf(s.w))));
    ctx.strokeStyle = lineColor;
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    ctx.stroke();
    const last = this.samples[this.samples.length - 1];
    ctx.lineTo(xOf(last.t), top + plotH);
    ctx.lineTo(xOf(this.samples[0].t), top + plotH);
    ctx.closePath();
    ctx.globalAlpha = 0.15;
    ctx.fillStyle = lineColor;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.beginPath();
    ctx.arc(xOf(last.t), yOf(last.w), 3.5, 0, 2 * Math.PI);
    ctx.fill();
  }
}
