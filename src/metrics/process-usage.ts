import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * This process's CPU time and resident memory, read when scraped (no timer): what a benchmark
 * or an operator needs to tell a busy node from a slow one. Named after prom-client's default
 * process metrics, which are not used because they start timers per registry that cannot be stopped.
 */
export class ProcessUsage {
  readonly cpuSeconds: Counter;
  readonly residentBytes: Gauge;
  readonly heapUsedBytes: Gauge;

  constructor(registry: Registry) {
    this.cpuSeconds = new Counter({
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time of this process, seconds',
      registers: [registry],
      collect() {
        const usage = process.cpuUsage();
        this.reset();
        this.inc((usage.user + usage.system) / 1e6);
      },
    });
    this.residentBytes = new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident set size of this process, bytes',
      registers: [registry],
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    this.heapUsedBytes = new Gauge({
      name: 'nodejs_heap_used_bytes',
      help: 'V8 heap in use, bytes',
      registers: [registry],
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
  }
}
