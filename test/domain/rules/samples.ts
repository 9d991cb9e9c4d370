/**
 * Realistic circuit readings for the rule tests: appliances as (P, PF) loads summed as
 * phasors (P and Q add, S = |P + jQ|), read once a second at 220 V with a meter's rounding
 * (0.1 W, 0.001 A, 0.001 PF). Not a test file itself (tap runs *.test.ts only).
 */
import { ruleSampleOf, type RuleSample } from '../../../src/domain/rules/rule-sample.ts';

export const VOLTAGE_V = 220;
export const UTC_PLUS_8 = 480;

export interface Load {
  readonly name: string;
  readonly powerW: number;
  readonly powerFactor: number;
}

const load = (name: string, powerW: number, powerFactor: number): Load => ({ name, powerW, powerFactor });

// Same nameplate figures as src/simulator/appliance.ts.
export const PHONE_CHARGER = load('phone charger', 10, 0.6);
export const LAPTOP = load('laptop', 60, 0.9);
export const DESK_LAMP = load('LED desk lamp', 15, 0.9);
export const KETTLE = load('kettle', 1800, 1.0);
export const HAIR_DRYER = load('hair dryer', 1200, 0.99);
export const HEATER = load('heater', 2000, 1.0);
export const FRIDGE = load('fridge compressor', 150, 0.6);
/** The one reading that catches a compressor's inrush. */
export const FRIDGE_START = load('fridge compressor start', 480, 0.4);
export const AIR_CONDITIONER = load('air conditioner', 900, 0.85);
export const AC_STANDBY = load('air conditioner standby', 5, 0.5);

/** Epoch ms of a local wall-clock time in UTC+8. */
export function local(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - UTC_PLUS_8 * 60_000;
}

const round = (value: number, step: number): number => Math.round(value / step) * step;

/** One reading of `loads` at `at`; `noiseW` is added to P only (meter jitter). */
export function reading(at: number, loads: readonly Load[], options: { noiseW?: number; relayClosed?: boolean } = {}): RuleSample {
  const relayClosed = options.relayClosed ?? true;
  let p = 0;
  let q = 0;
  if (relayClosed) {
    for (const l of loads) {
      p += l.powerW;
      q += l.powerW * Math.tan(Math.acos(l.powerFactor));
    }
    if (p > 0) p += options.noiseW ?? 0;
  }
  const s = Math.hypot(p, q);
  return ruleSampleOf(at, {
    voltageV: VOLTAGE_V,
    currentA: round(s / VOLTAGE_V, 0.001),
    powerW: round(p, 0.1),
    powerFactor: s === 0 ? 1 : round(p / s, 0.001),
    relayClosed,
  });
}

/** A deterministic +-2 W jitter so sequences are not unrealistically flat. */
export const jitter = (i: number): number => ((i * 7919) % 5) - 2;

export type Segment = readonly [seconds: number, loads: readonly Load[]];

/** One reading per second from `start` through consecutive segments. */
export function timeline(start: number, segments: readonly Segment[], options: { relayClosed?: boolean } = {}): RuleSample[] {
  const out: RuleSample[] = [];
  for (const [seconds, loads] of segments) {
    for (let k = 0; k < seconds; k++) {
      const i = out.length;
      out.push(reading(start + i * 1000, loads, { noiseW: jitter(i), ...options }));
    }
  }
  return out;
}

/** Feeds inputs through a rule; returns the final state and every non-'none' verdict with its input index. */
export function run<C, S, I, V extends { action: string }>(
  evaluate: (config: C, state: S, input: I) => { state: S; verdict: V },
  config: C,
  state: S,
  inputs: readonly I[],
): { state: S; verdicts: Array<{ index: number; verdict: V }> } {
  const verdicts: Array<{ index: number; verdict: V }> = [];
  let current = state;
  inputs.forEach((input, index) => {
    const result = evaluate(config, current, input);
    current = result.state;
    if (result.verdict.action !== 'none') verdicts.push({ index, verdict: result.verdict });
  });
  return { state: current, verdicts };
}
