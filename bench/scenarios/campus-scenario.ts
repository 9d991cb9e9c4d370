import { SimulatedClock } from '../../src/clock.ts';
import type { Config } from '../../src/config.ts';
import { findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { openBenchDatabase } from '../bench-database.ts';
import { BenchDriverHub } from '../bench-driver.ts';
import { bootRuntime } from '../bench-runtime.ts';
import { CampusLoad } from '../campus-load.ts';
import { markMemory, memoryFigures, type MemoryFigures } from '../memory.ts';
import { round } from '../stats.ts';
import { seedSyntheticCampus, START_AT, type CampusShape } from '../synthetic-campus.ts';
import { runClosedLoopRounds, type RoundsFigures, type RoundsParameters } from './closed-loop-rounds.ts';
import { runCutoffLatency, type LatencyFigures } from './cutoff-latency.ts';
import { runImportDuringLoad, type ImportDuringLoadFigures } from './import-during-load.ts';
import { ledgerFigures, markLedger, type LedgerFigures } from './ledger-group-commit.ts';

export interface CampusScenarioParameters {
  readonly shape: CampusShape;
  /** Rounds of one poll interval each: no billing posting falls due, the ledger stays nearly quiet. */
  readonly hotPath: RoundsParameters;
  readonly latency: {
    readonly idleProbes: number;
    readonly pacedSeconds: number;
    /** Every meter read once per this, in real time... */
    readonly pollIntervalMs: number;
    /** ...unless that exceeds this share of the measured hot-path throughput. */
    readonly maxShareOfThroughput: number;
  };
  /** Rounds of one billing posting interval each (BILLING_POST_INTERVAL_MS): every meter posts its charges every second round. */
  readonly ledgerStress: Omit<RoundsParameters, 'clockMsPerRound'>;
  /** A batch check-in of this many rows during a second paced phase (a third of the probes are kept for it); absent: skipped. */
  readonly importDuringLoad?: { readonly rows: number; readonly pacedSeconds: number };
}

export interface CampusScenarioFigures {
  readonly dormitories: number;
  readonly gateways: number;
  readonly seed: { readonly rows: number; readonly seconds: number; readonly rowsPerSecond: number };
  /** CampusRuntime.start() until every meter is attached to its gateway. */
  readonly bootSeconds: number;
  readonly memory: MemoryFigures;
  readonly hotPath: RoundsFigures;
  readonly latency: LatencyFigures;
  readonly ledger: {
    /** Over the latency scenario (idle probes, then the paced real-time load; no posting falls due there). */
    readonly pacedLoad: LedgerFigures;
    /** Over the stress rounds and the final flush: the ledger as fast as it goes. */
    readonly saturated: LedgerFigures;
  };
  /** The stress rounds: readings/s the node sustains while every reading's charges are posted. */
  readonly ledgerStress: RoundsFigures;
  /** `reconcile` at the end: accounts whose cached balance differs from the sum of their ledger entries. */
  readonly reconcileMismatches: number;
  /** Cut commands the driver was handed in all (3 per probe dormitory expected). */
  readonly cutCommands: number;
  /** The control loop while a batch check-in runs (when planned). */
  readonly importDuringLoad?: ImportDuringLoadFigures;
}

type Measured = { -readonly [K in keyof CampusScenarioFigures]?: CampusScenarioFigures[K] };

/** A scenario that stopped part way, with what it had measured until then. */
export class ScenarioFailed extends Error {
  constructor(
    message: string,
    readonly measured: Partial<CampusScenarioFigures>,
  ) {
    super(message);
  }
}

/**
 * One campus size, on a fresh database: seed, boot the real actor tree with bench drivers,
 * hot-path rounds, cut-off latency (idle, then under a paced real-time load), ledger stress
 * rounds, a final flush and `reconcile`.
 */
export async function runCampusScenario(config: Config, parameters: CampusScenarioParameters, progress: (line: string) => void): Promise<CampusScenarioFigures> {
  const measured: Measured = { dormitories: parameters.shape.dormitories };
  try {
    return await measure(config, parameters, progress, measured);
  } catch (error) {
    throw new ScenarioFailed(error instanceof Error ? error.message : String(error), measured);
  }
}

async function measure(config: Config, parameters: CampusScenarioParameters, progress: (line: string) => void, measured: Measured): Promise<CampusScenarioFigures> {
  const n = parameters.shape.dormitories;
  const database = await openBenchDatabase(config.databaseUrl);
  try {
    const seedStarted = performance.now();
    const campus = await seedSyntheticCampus(database.db, parameters.shape, new Date(START_AT));
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    progress(`  seeded ${campus.rowsSeeded} rows in ${seedSeconds.toFixed(1)} s`);
    measured.gateways = campus.gatewayIds.length;
    measured.seed = { rows: campus.rowsSeeded, seconds: round(seedSeconds, 2), rowsPerSecond: round(campus.rowsSeeded / seedSeconds) };

    const beforeBoot = await markMemory();
    const hub = new BenchDriverHub();
    const clock = new SimulatedClock(START_AT, 0);
    const rt = await bootRuntime({ db: database.db, config, clock, createDriver: hub.createDriver, booted: () => hub.attachedMeters() >= n, bootTimeoutMs: 120_000 });
    const booted = await markMemory();
    progress(`  booted in ${(rt.bootMs / 1000).toFixed(1)} s, ${Math.round((booted.heapUsed - beforeBoot.heapUsed) / n)} heap bytes per dormitory`);
    measured.bootSeconds = round(rt.bootMs / 1000, 2);
    measured.memory = memoryFigures(n, beforeBoot, booted);
    try {
      const load = new CampusLoad(campus, hub, rt);
      const flush = () => rt.unlessLedgerFails(rt.runtime.flush());

      const hotPath = await runClosedLoopRounds(load, parameters.hotPath, flush);
      progress(`  hot path: ${hotPath.readingsPerSecond} readings/s over ${hotPath.rounds} rounds`);
      measured.hotPath = hotPath;
      await flush();

      const { idleProbes, pacedSeconds, pollIntervalMs, maxShareOfThroughput } = parameters.latency;
      const readingsPerSecond = Math.round(Math.min((n * 1000) / pollIntervalMs, hotPath.readingsPerSecond * maxShareOfThroughput));
      const importPlan = parameters.importDuringLoad;
      const probes = campus.probes;
      const kept = importPlan ? Math.floor((probes.length - idleProbes) / 3) : 0;
      const pacedStart = await markLedger(rt.metrics, database.db);
      const latency = await runCutoffLatency(load, { idleProbes, readingsPerSecond, pacedSeconds }, probes.slice(0, probes.length - kept));
      const pacedEnd = await markLedger(rt.metrics, database.db);
      measured.latency = latency;
      progress(`  cut-off p50/p99: idle ${latency.idle.latencyUs.p50}/${latency.idle.latencyUs.p99} µs, at ${readingsPerSecond} readings/s ${latency.underLoad.latencyUs.p50}/${latency.underLoad.latencyUs.p99} µs`);
      await flush();
      if (importPlan) {
        const during = await runImportDuringLoad(load, database.db, clock, { rows: importPlan.rows, latency: { readingsPerSecond, pacedSeconds: importPlan.pacedSeconds } }, probes.slice(probes.length - kept));
        measured.importDuringLoad = during;
        progress(`  batch check-in of ${during.rows} rows in ${during.importSeconds} s while paced: cut-off p50/p99 ${during.latency.latencyUs.p50}/${during.latency.latencyUs.p99} µs`);
        await flush();
      }

      const stressStart = await markLedger(rt.metrics, database.db);
      const ledgerStress = await rt.unlessLedgerFails(runClosedLoopRounds(load, { ...parameters.ledgerStress, clockMsPerRound: Math.max(config.billingPostIntervalMs, 1000) }));
      await flush();
      const stressEnd = await markLedger(rt.metrics, database.db);
      const saturated = await ledgerFigures(database.db, stressStart, stressEnd);
      progress(`  ledger stress: ${ledgerStress.readingsPerSecond} readings/s, ${saturated.commitsPerSecond} commits/s, ${saturated.itemsPerSecond} items/s`);

      const loaded = await markMemory();
      const reconcileMismatches = (await findBalanceMismatches(database.db)).mismatches.length;
      return {
        dormitories: n,
        gateways: campus.gatewayIds.length,
        seed: measured.seed,
        bootSeconds: measured.bootSeconds,
        memory: memoryFigures(n, beforeBoot, booted, loaded),
        hotPath,
        latency,
        ledger: { pacedLoad: await ledgerFigures(database.db, pacedStart, pacedEnd), saturated },
        ledgerStress,
        reconcileMismatches,
        cutCommands: load.cutCommands,
        ...(measured.importDuringLoad ? { importDuringLoad: measured.importDuringLoad } : {}),
      };
    } finally {
      await rt.stop();
    }
  } finally {
    await database.close();
  }
}
