import { Histogram, type Registry } from 'prom-client';

/** How often the sampler wakes; each wake-up's lateness is one sample of the event-loop lag. */
export const EVENT_LOOP_SAMPLE_MS = 20;

/**
 * Event-loop lag as a Prometheus histogram (`campus_event_loop_lag_seconds`): a timer due every
 * `EVENT_LOOP_SAMPLE_MS` records how late it ran. Cumulative, like every other histogram here,
 * so any scraper can take quantiles over its own window (`histogram_quantile(0.99,
 * rate(...[1m]))`); node's `monitorEventLoopDelay` would need a reset per scrape instead.
 * The metric exists with the registry; the timer runs only between `start()` and `stop()`
 * (the app's), unref'd, so a test that builds a `Metrics` starts nothing.
 */
export class EventLoopLag {
  readonly histogram: Histogram;
  private timer: NodeJS.Timeout | undefined;

  constructor(registry: Registry) {
    this.histogram = new Histogram({
      name: 'campus_event_loop_lag_seconds',
      help: `How late a timer due every ${EVENT_LOOP_SAMPLE_MS} ms ran: the time the event loop was busy elsewhere`,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  start(): void {
    if (this.timer) return;
    let due = performance.now() + EVENT_LOOP_SAMPLE_MS;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.histogram.observe(Math.max(0, now - due) / 1000);
      // Sample the next interval from now: one long block is one late sample, not many.
      due = now + EVENT_LOOP_SAMPLE_MS;
    }, EVENT_LOOP_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
