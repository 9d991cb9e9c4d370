import { performance } from 'node:perf_hooks';
import type { CampusLoad } from '../campus-load.ts';
import { distribution, round, waitUntil, type Distribution } from '../stats.ts';

export interface RoundsParameters {
  /** Clock time a round stands for: every meter is read once per round. */
  readonly clockMsPerRound: number;
  readonly warmupRounds: number;
  /** Readings injected but not yet handled, at most: drivers deliver continuously, not a campus at once. */
  readonly inFlight: number;
  readonly minRounds: number;
  readonly maxRounds: number;
  /** No round starts after this much wall time, once minRounds are done. */
  readonly timeBudgetMs: number;
}

export interface RoundsFigures {
  readonly parameters: RoundsParameters & { readonly readingsPerRound: number };
  readonly rounds: number;
  readonly readings: number;
  readonly seconds: number;
  /** campus_readings_handled_total over the measured rounds / their wall time. */
  readonly readingsPerSecond: number;
  /** Wall time of a round: from its first reading injected to its last one handled, ms. */
  readonly roundMs: Distribution;
  /** Round wall time / readings in it: what one reading costs the node, µs. */
  readonly perReadingUs: Distribution;
  /** performance.eventLoopUtilization over the measured rounds (1 = the main thread never idled). */
  readonly eventLoopUtilization: number;
  /** Process CPU (user + system, all threads) / wall time, in cores: below the utilisation when other processes took the CPU. */
  readonly cpuCores: number;
  /** Readings per second of this process's CPU time: less sensitive than readingsPerSecond to other load on the machine. */
  readonly readingsPerCpuSecond: number;
  /** How much faster than real time the clock ran (clock time / wall time). */
  readonly clockSpeedup: number;
}

/**
 * Closed-loop rounds at saturation: every meter's reading once per round, injected as fast
 * as the meter actors handle them (campus_readings_handled_total) with at most `inFlight`
 * outstanding; a round ends when its last reading is handled. The circuits' and
 * dormitories' share of a reading runs behind it; ledger commits happen whenever they fall due.
 */
export async function runClosedLoopRounds(load: CampusLoad, parameters: RoundsParameters, afterWarmup?: () => Promise<void>): Promise<RoundsFigures> {
  const n = load.size;
  let injected = await load.rt.readingsHandled();
  const runRound = async (): Promise<number> => {
    const started = performance.now();
    const at = load.nextRound(parameters.clockMsPerRound);
    const meters = load.campus.meters;
    for (let next = 0; next < n; ) {
      const room = parameters.inFlight - (injected - (await load.rt.readingsHandled()));
      if (room <= 0) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      for (const end = Math.min(n, next + room); next < end; next++, injected++) load.inject(meters[next]!, at);
    }
    await waitUntil('a round of readings to be handled', async () => (await load.rt.readingsHandled()) >= injected, 120_000);
    return performance.now() - started;
  };
  for (let i = 0; i < parameters.warmupRounds; i++) await runRound();
  await afterWarmup?.();

  const roundMs: number[] = [];
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (roundMs.length < parameters.maxRounds && (roundMs.length < parameters.minRounds || performance.now() - started < parameters.timeBudgetMs)) {
    roundMs.push(await runRound());
  }
  const seconds = (performance.now() - started) / 1000;
  const usedCpu = process.cpuUsage(cpu);
  const cpuSeconds = (usedCpu.user + usedCpu.system) / 1e6;
  const readings = roundMs.length * n;
  return {
    parameters: { ...parameters, readingsPerRound: n },
    rounds: roundMs.length,
    readings,
    seconds: round(seconds, 2),
    readingsPerSecond: round(readings / seconds),
    roundMs: distribution(roundMs),
    perReadingUs: distribution(roundMs.map((ms) => (ms * 1000) / n), 2),
    eventLoopUtilization: round(performance.eventLoopUtilization(elu).utilization, 3),
    cpuCores: round(cpuSeconds / seconds, 2),
    readingsPerCpuSecond: round(readings / cpuSeconds),
    clockSpeedup: round((roundMs.length * parameters.clockMsPerRound) / 1000 / seconds, 1),
  };
}
