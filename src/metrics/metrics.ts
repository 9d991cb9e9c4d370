import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EventLoopLag } from './event-loop-lag.ts';
import { GcPauses } from './gc-pauses.ts';
import { ProcessUsage } from './process-usage.ts';

/** What the ledger writer holds, read at each scrape. */
export interface LedgerPendingSource {
  readonly pending: number;
  readonly pendingByKind: Readonly<Record<string, number>>;
  readonly backpressure: boolean;
}

/** `campus_ledger_pending_items{kind}` and `campus_ledger_backpressure`, from the writer's own counts. */
class LedgerPendingGauges {
  source: (() => LedgerPendingSource) | undefined;

  constructor(registry: Registry) {
    const read = () => this.source?.();
    new Gauge({
      name: 'campus_ledger_pending_items',
      help: 'Items buffered in the ledger writer, not yet committed, by kind (snapshots (control, state) are one per key; billing is held on the meters under backpressure)',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(read()?.pendingByKind ?? {})) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'campus_ledger_backpressure',
      help: '1 while the ledger asks dormitories to hold their charge postings (database away, or too many items buffered)',
      registers: [registry],
      collect() {
        this.set(read()?.backpressure ? 1 : 0);
      },
    });
  }
}

/**
 * The process's metrics, one registry per app (no prom-client globals), rendered in the
 * Prometheus text format at GET /api/metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly readingsHandled = new Counter({ name: 'campus_readings_handled_total', help: 'Meter readings handled by meter actors', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly readingsCoalesced = new Counter({ name: 'campus_readings_coalesced_total', help: 'Readings that replaced an older reading of the same meter still waiting in its mailbox (overload shed: the register is cumulative, an intermediate sample is skipped)', registers: [this.registry] });
  readonly framesRejected = new Counter({ name: 'campus_frames_rejected_total', help: 'Malformed frames or payloads counted and dropped', labelNames: ['protocol', 'reason'] as const, registers: [this.registry] });
  readonly sampleClockSkew = new Counter({ name: 'campus_sample_clock_skew_total', help: 'Samples whose timestamp lay outside the skew window around the server receive time (their time was clamped)', labelNames: ['protocol', 'direction'] as const, registers: [this.registry] });
  readonly commands = new Counter({ name: 'campus_commands_total', help: 'Supply commands by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly actorAskTimeouts = new Counter({ name: 'campus_actor_ask_timeouts_total', help: 'Asks to a live actor not answered within ACTOR_QUERY_TIMEOUT_MS (an HTTP request got 503 ACTOR_BUSY)', labelNames: ['actor'] as const, registers: [this.registry] });
  readonly actorRestarts = new Counter({ name: 'campus_actor_restarts_total', help: 'Actor crashes resumed with their last state', labelNames: ['actor'] as const, registers: [this.registry] });
  readonly ledgerBatchSize = new Histogram({ name: 'campus_ledger_batch_size', help: 'Items per ledger group commit', buckets: [1, 5, 10, 50, 100, 500, 1000, 5000], registers: [this.registry] });
  readonly ledgerCommitSeconds = new Histogram({ name: 'campus_ledger_commit_seconds', help: 'Ledger group commit duration', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly ledgerFailures = new Counter({ name: 'campus_ledger_commit_failures_total', help: 'Ledger group commits that failed (then retried, or split to isolate a bad item)', registers: [this.registry] });
  readonly writeAheads = new Counter({ name: 'campus_write_aheads_total', help: 'Cut decisions written ahead of their command (control state + command record): committed, queued (database away: the cut went out, the record waits in the group commit), pending (the bounded wait ran out first)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly writeAheadSeconds = new Histogram({ name: 'campus_write_ahead_seconds', help: 'Write-ahead commit duration (one small transaction per group of cut decisions)', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  readonly telemetryShed = new Counter({ name: 'campus_telemetry_shed_total', help: 'MQTT telemetry messages dropped on arrival because too many waited for their turn (src/drivers/inbound-queue.ts); registers are cumulative, so a later message bills what a dropped one would have', registers: [this.registry] });
  readonly ledgerDeadLetters = new Counter({ name: 'campus_ledger_dead_letters_total', help: 'Items the ledger could not write, parked in ledger_dead_letters with an alarm', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly commandLatency = new Histogram({
    name: 'campus_reading_to_command_seconds',
    help: 'From the frame reaching the node (an MQTT message on arrival, before its turn; a Modbus read when decoded) to the command handed to the driver, for reading-caused commands',
    labelNames: ['reason'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly billingAnomalies = new Counter({ name: 'campus_register_anomalies_total', help: 'Register readings that went backwards or jumped implausibly (billed nothing)', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly gatewaysOnline = new Gauge({ name: 'campus_gateways_online', help: 'Gateways currently online', registers: [this.registry] });
  readonly metersOnline = new Gauge({ name: 'campus_meters_online', help: 'Meters whose actor last heard from them within the offline limit', registers: [this.registry] });
  /** Buffered ledger items; the writer sets `source` (read at each scrape). */
  readonly ledgerPending = new LedgerPendingGauges(this.registry);
  readonly ledgerPostingsDeferred = new Counter({ name: 'campus_ledger_postings_deferred_total', help: 'Periodic charge postings a dormitory held back under ledger backpressure (the charge stays pending on its meter and is posted once released)', registers: [this.registry] });
  readonly liveClients = new Gauge({ name: 'campus_live_clients', help: 'WebSocket clients of the live feed (/ws/live) now open', registers: [this.registry] });
  readonly liveClientsDropped = new Counter({ name: 'campus_live_clients_dropped_total', help: 'Live feed clients the server terminated: stalled (above the send high-water mark too long), buffer_limit, keepalive (no pong)', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly alarmsRaised = new Counter({ name: 'campus_alarms_raised_total', help: 'Alarms raised', labelNames: ['kind'] as const, registers: [this.registry] });

  /** Event-loop lag; sampled only between `startSampling()` and `stopSampling()` (the app's start and stop). */
  readonly eventLoopLag = new EventLoopLag(this.registry);
  /** CPU seconds and resident memory of this process, read at each scrape. */
  readonly processUsage = new ProcessUsage(this.registry);
  /** Garbage-collection pauses; observed only between `startSampling()` and `stopSampling()`. */
  readonly gcPauses = new GcPauses(this.registry);

  startSampling(): void {
    this.eventLoopLag.start();
    this.gcPauses.start();
  }

  stopSampling(): void {
    this.eventLoopLag.stop();
    this.gcPauses.stop();
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
