import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Histogram, type Registry } from 'prom-client';

type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb';

const KIND_OF: ReadonlyMap<number, GcKind> = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/**
 * Garbage-collection pauses as a Prometheus histogram (`nodejs_gc_pause_seconds{kind}`), from
 * node's `gc` performance entries: each entry is a stop of the main thread (a scavenge, a
 * mark-compact's atomic pause). What the event-loop lag cannot say is whether a late loop was
 * busy with work or stopped for the collector; this says how much of it was the collector.
 * Observed only between `start()` and `stop()` (the app's).
 */
export class GcPauses {
  readonly histogram: Histogram<'kind'>;
  private observer: PerformanceObserver | undefined;

  constructor(registry: Registry) {
    this.histogram = new Histogram({
      name: 'nodejs_gc_pause_seconds',
      help: 'Garbage-collection pauses of the main thread, by kind (minor: scavenge; major: mark-compact)',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  start(): void {
    if (this.observer) return;
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = KIND_OF.get((entry as PerformanceEntry & { readonly detail?: { readonly kind?: number } }).detail?.kind ?? -1);
        if (kind) this.histogram.observe({ kind }, entry.duration / 1000);
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
  }
}
