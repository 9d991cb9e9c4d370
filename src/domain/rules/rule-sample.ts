/**
 * The one reading shape the power rules take: a circuit (or the incoming line) at one
 * instant, with apparent power worked out once so every rule sees the same number.
 */
import type { EvidenceSample } from './rule-verdict.ts';

export interface RuleSample extends EvidenceSample {
  readonly currentA: number;
  /** Relay read back from the meter; true for a line without a relay of its own. */
  readonly relayClosed: boolean;
}

/** Structurally matches both `CircuitSample` and `ElectricReading` (src/domain/reading.ts). */
export interface MeasuredLine {
  readonly voltageV: number;
  readonly currentA: number;
  readonly powerW: number;
  readonly powerFactor: number;
  readonly relayClosed?: boolean;
}

export function ruleSampleOf(at: number, line: MeasuredLine): RuleSample {
  return {
    at,
    powerW: line.powerW,
    powerFactor: line.powerFactor,
    apparentVA: apparentPowerVA(line),
    currentA: line.currentA,
    relayClosed: line.relayClosed ?? true,
  };
}

/**
 * S = V x I when both were measured (what the meter itself integrates); otherwise derived
 * from P / |PF|; |P| when even the power factor is missing.
 */
export function apparentPowerVA(line: MeasuredLine): number {
  const vi = line.voltageV * line.currentA;
  if (vi > 0) return vi;
  const pf = Math.abs(line.powerFactor);
  return pf > 0 ? Math.abs(line.powerW) / pf : Math.abs(line.powerW);
}

/** A plain evidence copy (drops current/relay), made only when a rule trips. */
export function evidenceOf(sample: EvidenceSample): EvidenceSample {
  return { at: sample.at, powerW: sample.powerW, powerFactor: sample.powerFactor, apparentVA: sample.apparentVA };
}
