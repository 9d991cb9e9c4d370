import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CampusLoad } from '../campus-load.ts';
import { CIRCUITS_PER_METER } from '../campus-load.ts';
import { bucketPercentile, histogramDelta, histogramSnapshot } from '../metric-reader.ts';
import { distribution, round, sleep, waitUntil, type Distribution } from '../stats.ts';
import { SURGE_WH } from '../synthetic-campus.ts';
import type { SyntheticMeter } from '../synthetic-meter.ts';

export interface LatencyParameters {
  /** Probe dormitories surged one at a time on an otherwise idle campus. */
  readonly idleProbes: number;
  /** Offered background load: readings per second, spread evenly (paced, open loop). */
  readonly readingsPerSecond: number;
  /** Wall time of the paced load (whole rounds: every meter read once a round). */
  readonly pacedSeconds: number;
}

/** Reading -> cut command latencies (µs) of one phase, as the bench driver saw them. */
export interface LatencyPhase {
  readonly probes: number;
  readonly commands: number;
  readonly latencyUs: Distribution;
}

export interface LatencyFigures {
  readonly parameters: LatencyParameters & { readonly surgeWh: number; readonly pacedRounds: number; readonly clockMsPerRound: number };
  readonly idle: LatencyPhase;
  readonly underLoad: LatencyPhase & {
    readonly offeredReadingsPerSecond: number;
    readonly achievedReadingsPerSecond: number;
    /** Readings still waiting for their meter actor when the last one was injected. */
    readonly backlogAtEnd: number;
    /** How late the event loop ran a timer (monitorEventLoopDelay), ms: the longest stretches the main thread was busy. */
    readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  };
  /** campus_reading_to_command_seconds over both phases (the same span, from the app's own histogram); p99AtMostUs is null beyond its largest bucket (0.25 s). */
  readonly appHistogram: { readonly count: number; readonly meanUs: number; readonly p99AtMostUs: number | null };
}

const TICK_MS = 2;
/** monitorEventLoopDelay samples every this many ms; its values include the interval itself. */
const LOOP_DELAY_RESOLUTION_MS = 1;
const loopDelayMs = (ns: number) => round(Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS), 1);

async function waitForCommands(load: CampusLoad, expected: number, what: string): Promise<void> {
  await waitUntil(what, () => load.latenciesUs.length >= expected, 30_000);
}

/**
 * Probe dormitories hold 50 fen; one reading carrying a 1 kWh surge (60 fen at the peak
 * rate) takes them below the cut-off, and the dormitory actor has the meter cut all three
 * circuits. Measured: decodedAtNs of that reading -> each command handed to the driver.
 * First on an idle campus (one probe at a time), then under a paced background load of
 * every meter being read, with the remaining probes spread over the rounds.
 */
export async function runCutoffLatency(load: CampusLoad, parameters: LatencyParameters, probeMeters: readonly SyntheticMeter[] = load.campus.probes): Promise<LatencyFigures> {
  const histogram = load.rt.metrics.commandLatency;
  const before = await histogramSnapshot(histogram);
  const probes = [...probeMeters];
  const first = load.latenciesUs.length; // an earlier phase's commands are not this one's
  const idleProbes = probes.slice(0, parameters.idleProbes);
  const loadedProbes = probes.slice(parameters.idleProbes);

  // Idle: one surge at a time, each after the previous one's commands arrived.
  for (const meter of idleProbes) {
    const expected = load.latenciesUs.length + CIRCUITS_PER_METER;
    load.rt.clock.advance(100);
    load.injectSurge(meter, load.rt.clock.now(), SURGE_WH);
    await waitForCommands(load, expected, 'an idle probe to be cut');
    await sleep(1);
  }
  const idleLatencies = load.latenciesUs.slice(first);

  // Under load: paced rounds in real time (a round's clock time = its wall time); round r > 0
  // surges its share of the remaining probes in place of their normal reading.
  const n = load.size;
  const clockMsPerRound = Math.round((n / parameters.readingsPerSecond) * 1000);
  const pacedRounds = Math.max(2, Math.round((parameters.pacedSeconds * parameters.readingsPerSecond) / n));
  const surgeRound = new Map<SyntheticMeter, number>();
  loadedProbes.forEach((meter, i) => surgeRound.set(meter, 1 + (i % (pacedRounds - 1))));
  const handledBefore = await load.rt.readingsHandled();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const started = performance.now();
  let injected = 0;
  for (let r = 0; r < pacedRounds; r++) {
    const at = load.nextRound(clockMsPerRound);
    const roundStarted = performance.now();
    let next = 0;
    while (next < n) {
      const due = Math.min(n, Math.floor(((performance.now() - roundStarted) * parameters.readingsPerSecond) / 1000) + 1);
      for (; next < due; next++) {
        const meter = load.campus.meters[next]!;
        if (surgeRound.get(meter) === r) load.injectSurge(meter, at, SURGE_WH);
        else load.inject(meter, at);
        injected++;
      }
      if (next < n) await sleep(TICK_MS);
    }
  }
  const injectSeconds = (performance.now() - started) / 1000;
  loopDelay.disable();
  // Meter actors still behind when the last reading went in: 0 means the node kept pace.
  const backlogAtEnd = handledBefore + injected - (await load.rt.readingsHandled());
  await waitUntil('the paced readings to be handled', async () => (await load.rt.readingsHandled()) >= handledBefore + injected, 120_000);
  await waitForCommands(load, first + idleLatencies.length + loadedProbes.length * CIRCUITS_PER_METER, 'the loaded probes to be cut');
  const loadedLatencies = load.latenciesUs.slice(first + idleLatencies.length);

  const app = histogramDelta(before, await histogramSnapshot(histogram));
  const p99 = bucketPercentile(app, 99);
  return {
    parameters: { ...parameters, surgeWh: SURGE_WH, pacedRounds, clockMsPerRound },
    idle: { probes: idleProbes.length, commands: idleLatencies.length, latencyUs: distribution(idleLatencies) },
    underLoad: {
      probes: loadedProbes.length,
      commands: loadedLatencies.length,
      latencyUs: distribution(loadedLatencies),
      offeredReadingsPerSecond: parameters.readingsPerSecond,
      achievedReadingsPerSecond: round(injected / injectSeconds),
      backlogAtEnd,
      eventLoopDelayMs: { p50: loopDelayMs(loopDelay.percentile(50)), p99: loopDelayMs(loopDelay.percentile(99)), max: loopDelayMs(loopDelay.max) },
    },
    appHistogram: { count: app.count, meanUs: app.count ? round((app.sum / app.count) * 1e6, 1) : 0, p99AtMostUs: p99 === null ? null : round(p99 * 1e6) },
  };
}
