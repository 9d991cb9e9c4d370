import type { Kysely } from 'kysely';
import pino from 'pino';
import { CampusRuntime } from '../src/actors/campus-runtime.ts';
import type { ActorDeps } from '../src/actors/actor-deps.ts';
import type { SimulatedClock } from '../src/clock.ts';
import type { Config } from '../src/config.ts';
import type { Database } from '../src/db/database.ts';
import type { GatewayTopology } from '../src/db/topology.repository.ts';
import type { GatewayDriver, GatewayDriverListener } from '../src/drivers/gateway-driver.ts';
import { Metrics } from '../src/metrics/metrics.ts';
import { counterTotal } from './metric-reader.ts';
import { sleep, waitUntil } from './stats.ts';

export interface BenchRuntime {
  readonly runtime: CampusRuntime;
  readonly metrics: Metrics;
  readonly clock: SimulatedClock;
  readonly bootMs: number;
  readingsHandled(): Promise<number>;
  /**
   * Resolves as `work` does, but rejects as soon as a ledger commit fails
   * (campus_ledger_commit_failures_total rises), with the first logged errors: a failing
   * ledger retries forever, and a flush would only time out.
   */
  unlessLedgerFails<T>(work: Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** A pino destination that passes lines to stderr and keeps the first few error messages. */
function errorCapturingDestination(errors: string[]): { write(line: string): void } {
  return {
    write(line: string) {
      process.stderr.write(line);
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) >= 50 && errors.length < 3) errors.push(`${entry.msg ?? ''}: ${entry.err?.message ?? ''}`.slice(0, 300));
      } catch {
        // not JSON: passed through as it is
      }
    },
  };
}

export interface BootOptions {
  readonly db: Kysely<Database>;
  readonly config: Config;
  /** The injected clock: frozen (speed 0) when the bench moves it one poll round at a time. */
  readonly clock: SimulatedClock;
  readonly createDriver: (gateway: GatewayTopology, listener: GatewayDriverListener) => GatewayDriver;
  /** True once the tree is fully booted (e.g. every meter attached to its gateway). */
  readonly booted: (runtime: CampusRuntime) => boolean | Promise<boolean>;
  readonly bootTimeoutMs: number;
}

/**
 * The real actor tree, created as src/app.ts creates it (same Metrics, same ledger settings
 * from the config), on the given clock and with the bench's drivers. Logs at warn.
 */
export async function bootRuntime(options: BootOptions): Promise<BenchRuntime> {
  const clock = options.clock;
  const metrics = new Metrics();
  const errors: string[] = [];
  // As src/logger.ts builds it, at warn, with the errors kept for the report.
  const log = pino({ level: 'warn', base: { service: 'campus-prepaid' } }, errorCapturingDestination(errors));
  const deps: ActorDeps = {
    clock,
    log: log.child({ component: 'actors' }),
    metrics,
    postingIntervalMs: options.config.billingPostIntervalMs,
    commandRetryMs: 30_000,
    nodeId: options.config.nodeId,
  };
  const runtime = new CampusRuntime({
    db: options.db,
    deps,
    ledgerFlushMs: options.config.ledgerFlushMs,
    ledgerBatchSize: options.config.ledgerBatchSize,
    createDriver: options.createDriver,
  });
  const started = performance.now();
  await runtime.start();
  await waitUntil('the actor tree to boot', () => options.booted(runtime), options.bootTimeoutMs, 5);
  const bootMs = performance.now() - started;
  return {
    runtime,
    metrics,
    clock,
    bootMs,
    readingsHandled: () => counterTotal(metrics.readingsHandled),
    async unlessLedgerFails<T>(work: Promise<T>): Promise<T> {
      const baseline = await counterTotal(metrics.ledgerFailures);
      let watching = true;
      const failed = (async (): Promise<never> => {
        while (watching) {
          if ((await counterTotal(metrics.ledgerFailures)) > baseline) throw new Error(`ledger commits are failing: ${errors.join(' | ') || 'see the log'}`);
          await sleep(50);
        }
        return new Promise<never>(() => undefined);
      })();
      failed.catch(() => undefined); // a failure noticed after `work` settled is not an unhandled rejection
      try {
        return await Promise.race([work, failed]);
      } finally {
        watching = false;
      }
    },
    async stop() {
      await runtime.stop();
      clock.dispose();
    },
  };
}
