/**
 * Malignant (illegal appliance) load on the socket circuit, in both modes vendors ship:
 *
 * - total power: powerW > `totalPower.limitW` in more than `consecutiveSamples`
 *   consecutive readings trips (limit exactly = not over; K readings = no trip, K+1 trips).
 * - increment: over a sliding window of the last `windowSamples` readings, P[0] the oldest,
 *   each later reading i with P[i] > P[0] + stepW has incremental PF = dP / |dS|
 *   (dS = S[i] - S[0]; dS = 0 counts as PF 1; clamped to at most 1). It is a hit when the PF
 *   is >= pfThreshold, dP lies in one of the controlled `intervals` ([minW, maxW); none
 *   configured = every increment is controlled), and no whitelist entry matches it.
 *   `minHits` or more hits in the window trip. A resistive kettle steps P and S alike
 *   (PF ~1); a compressor steps S far more than P (PF ~0.6).
 *
 * A trip cuts (`mode` 'trip') or only alarms (`mode` 'alarm'), carries the window as
 * evidence and clears the window, so one appliance switched on trips once; after a reclose
 * the window refills from the open-relay zeros and a still-plugged kettle trips again.
 * Reclosing is the reclose-policy rule's job, not this one's.
 */
import {
  InvalidField,
  checkArray,
  checkNumber,
  deepFreeze,
  readBoolean,
  readChoice,
  readNumber,
  readObject,
  validated,
  type ConfigValidation,
  type Fields,
} from './config-validation.ts';
import { evidenceOf, type RuleSample } from './rule-sample.ts';
import { NO_VERDICT, actionVerdict, type RuleResult } from './rule-verdict.ts';
import { readWhitelist, whitelistMatch, type WhitelistConfig } from './whitelist.ts';

export type MalignantLoadMode = 'off' | 'alarm' | 'trip';

/** [minW, maxW) of the increment dP. */
export interface PowerInterval {
  readonly minW: number;
  readonly maxW: number;
}

export interface TotalPowerMode {
  readonly enabled: boolean;
  readonly limitW: number;
  readonly consecutiveSamples: number;
}

export interface IncrementMode {
  readonly enabled: boolean;
  readonly windowSamples: number;
  readonly stepW: number;
  readonly pfThreshold: number;
  readonly minHits: number;
}

export interface MalignantLoadConfig {
  readonly mode: MalignantLoadMode;
  readonly totalPower: TotalPowerMode;
  readonly increment: IncrementMode;
  /** At most `MAX_POWER_INTERVALS`, each from `MIN_INTERVAL_W` up. */
  readonly intervals: readonly PowerInterval[];
  readonly whitelist: WhitelistConfig;
}

export const MAX_POWER_INTERVALS = 6;
export const MIN_INTERVAL_W = 30;
/** The vendors' parameter range for the incremental PF threshold. */
export const MAX_PF_THRESHOLD = 0.997;
export const MAX_WINDOW_SAMPLES = 64;

export const DEFAULT_MALIGNANT_LOAD_CONFIG: MalignantLoadConfig = deepFreeze({
  mode: 'trip',
  totalPower: { enabled: true, limitW: 2500, consecutiveSamples: 5 },
  increment: { enabled: true, windowSamples: 8, stepW: 100, pfThreshold: 0.95, minHits: 5 },
  intervals: [{ minW: 100, maxW: 5000 }],
  whitelist: [],
});

export interface MalignantLoadState {
  /** Last readings, oldest first, at most `increment.windowSamples`. */
  readonly window: readonly RuleSample[];
  /** Consecutive readings above `totalPower.limitW`. */
  readonly overCount: number;
}

const INITIAL: MalignantLoadState = Object.freeze({ window: Object.freeze([]), overCount: 0 });

export function initialMalignantLoadState(): MalignantLoadState {
  return INITIAL;
}

/** Incremental power factor of `sample` against `base`, clamped to 1. */
export function incrementalPowerFactor(base: RuleSample, sample: RuleSample): number {
  const dS = Math.abs(sample.apparentVA - base.apparentVA);
  if (dS === 0) return 1;
  return Math.min(1, (sample.powerW - base.powerW) / dS);
}

function inIntervals(intervals: readonly PowerInterval[], incrementW: number): boolean {
  if (intervals.length === 0) return true;
  for (const interval of intervals) if (incrementW >= interval.minW && incrementW < interval.maxW) return true;
  return false;
}

/** Hits of the increment mode in `window` (P[0] = window[0]). */
export function countIncrementHits(config: MalignantLoadConfig, window: readonly RuleSample[]): number {
  const { stepW, pfThreshold } = config.increment;
  const base = window[0];
  if (base === undefined) return 0;
  let hits = 0;
  for (let i = 1; i < window.length; i++) {
    const sample = window[i]!;
    const incrementW = sample.powerW - base.powerW;
    if (!(incrementW > stepW)) continue;
    const pf = incrementalPowerFactor(base, sample);
    if (pf < pfThreshold) continue;
    if (!inIntervals(config.intervals, incrementW)) continue;
    if (whitelistMatch(config.whitelist, incrementW, pf) !== null) continue;
    hits++;
  }
  return hits;
}

export function evaluateMalignantLoad(
  config: MalignantLoadConfig,
  state: MalignantLoadState,
  sample: RuleSample,
): RuleResult<MalignantLoadState> {
  if (config.mode === 'off') return { state: INITIAL, verdict: NO_VERDICT };
  const size = config.increment.windowSamples;
  const kept = state.window.length >= size ? state.window.slice(state.window.length - size + 1) : state.window.slice();
  kept.push(sample);
  const window: readonly RuleSample[] = kept;

  const { totalPower, increment } = config;
  const overCount = totalPower.enabled && sample.powerW > totalPower.limitW ? state.overCount + 1 : 0;
  if (overCount > totalPower.consecutiveSamples) {
    return trip(
      config,
      window,
      `total power ${Math.round(sample.powerW)} W above ${totalPower.limitW} W ` +
        `for ${overCount} consecutive readings`,
    );
  }
  if (increment.enabled) {
    const hits = countIncrementHits(config, window);
    if (hits >= increment.minHits) {
      const base = window[0]!;
      const pf = incrementalPowerFactor(base, sample);
      return trip(
        config,
        window,
        `power step of ${Math.round(sample.powerW - base.powerW)} W at incremental PF ${pf.toFixed(2)} ` +
          `in ${hits} of ${window.length} readings (PF >= ${increment.pfThreshold}, K = ${increment.minHits})`,
      );
    }
  }
  return { state: { window, overCount }, verdict: NO_VERDICT };
}

function trip(
  config: MalignantLoadConfig,
  window: readonly RuleSample[],
  detail: string,
): RuleResult<MalignantLoadState> {
  return {
    state: INITIAL,
    verdict: actionVerdict(config.mode === 'trip' ? 'cut' : 'alarm', 'malignant_load', detail, window.map(evidenceOf)),
  };
}

export function validateMalignantLoadConfig(value: unknown): ConfigValidation<MalignantLoadConfig> {
  return validated(() => {
    const fields = readObject(value, '', ['mode', 'totalPower', 'increment', 'intervals', 'whitelist']);
    const d = DEFAULT_MALIGNANT_LOAD_CONFIG;
    return {
      mode: readChoice(fields, 'mode', '', d.mode, ['off', 'alarm', 'trip']),
      totalPower: readTotalPower(fields),
      increment: readIncrement(fields),
      intervals: fields['intervals'] === undefined ? d.intervals : readIntervals(fields['intervals']),
      whitelist: fields['whitelist'] === undefined ? d.whitelist : readWhitelist(fields['whitelist'], 'whitelist'),
    };
  });
}

function readTotalPower(parent: Fields): TotalPowerMode {
  const d = DEFAULT_MALIGNANT_LOAD_CONFIG.totalPower;
  if (parent['totalPower'] === undefined) return d;
  const path = 'totalPower';
  const fields = readObject(parent[path], path, ['enabled', 'limitW', 'consecutiveSamples']);
  return {
    enabled: readBoolean(fields, 'enabled', path, d.enabled),
    limitW: readNumber(fields, 'limitW', path, d.limitW, { min: MIN_INTERVAL_W, max: 100_000 }),
    consecutiveSamples: readNumber(fields, 'consecutiveSamples', path, d.consecutiveSamples, {
      min: 0,
      max: 3600,
      integer: true,
    }),
  };
}

function readIncrement(parent: Fields): IncrementMode {
  const d = DEFAULT_MALIGNANT_LOAD_CONFIG.increment;
  if (parent['increment'] === undefined) return d;
  const path = 'increment';
  const fields = readObject(parent[path], path, ['enabled', 'windowSamples', 'stepW', 'pfThreshold', 'minHits']);
  const increment = {
    enabled: readBoolean(fields, 'enabled', path, d.enabled),
    windowSamples: readNumber(fields, 'windowSamples', path, d.windowSamples, {
      min: 2,
      max: MAX_WINDOW_SAMPLES,
      integer: true,
    }),
    stepW: readNumber(fields, 'stepW', path, d.stepW, { min: MIN_INTERVAL_W, max: 100_000 }),
    pfThreshold: readNumber(fields, 'pfThreshold', path, d.pfThreshold, { min: 0, max: MAX_PF_THRESHOLD }),
    minHits: readNumber(fields, 'minHits', path, d.minHits, { min: 1, max: MAX_WINDOW_SAMPLES - 1, integer: true }),
  };
  if (increment.minHits > increment.windowSamples - 1) {
    throw new InvalidField(
      'increment.minHits',
      `must be at most windowSamples - 1 (${increment.windowSamples - 1}): only later readings can be hits`,
    );
  }
  return increment;
}

function readIntervals(value: unknown): PowerInterval[] {
  return checkArray(value, 'intervals', MAX_POWER_INTERVALS).map((item, i) => {
    const path = `intervals[${i}]`;
    const fields = readObject(item, path, ['minW', 'maxW']);
    const minW = checkNumber(fields['minW'], `${path}.minW`, { min: MIN_INTERVAL_W, max: 100_000 });
    const maxW = checkNumber(fields['maxW'], `${path}.maxW`, { min: MIN_INTERVAL_W, max: 100_000 });
    if (maxW <= minW) throw new InvalidField(`${path}.maxW`, 'must be above minW');
    return { minW, maxW };
  });
}
