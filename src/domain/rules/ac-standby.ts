/**
 * Air-conditioner standby monitoring: the AC circuit must feed an air conditioner and
 * nothing else. Two ways to trip, both cut the AC circuit (reason 'ac_standby'):
 * - plug pulled: current below `pluggedMinA` for `unpluggedSeconds`;
 * - foreign load: power at or above `signature.minW` with |PF| outside
 *   [`signature.minPf`, `signature.maxPf`] for `foreignSeconds` (a kettle or heater on the
 *   AC socket reads PF ~1; a compressor reads well below).
 *
 * With the relay open nothing flows, so "plugged back" cannot be seen while cut. Restoring
 * is therefore a trial: an operator allowance (or, with `autoRestore`, the
 * `autoRestoreAfterSeconds` timer) closes the relay and starts a probation; the first
 * reading with current present and no foreign signature ends it (normal monitoring
 * resumes); no such reading within `probationSeconds` cuts again.
 */
import {
  InvalidField,
  deepFreeze,
  readBoolean,
  readNumber,
  readObject,
  validated,
  type ConfigValidation,
  type Fields,
} from './config-validation.ts';
import { evidenceOf, type RuleSample } from './rule-sample.ts';
import { NO_VERDICT, actionVerdict, type EvidenceSample, type RuleResult } from './rule-verdict.ts';

export interface AcSignature {
  /** Loads below this are not judged (standby electronics, fan-only mode). */
  readonly minW: number;
  readonly minPf: number;
  readonly maxPf: number;
}

export interface AcStandbyConfig {
  readonly enabled: boolean;
  /** Current below this counts as "nothing plugged in". */
  readonly pluggedMinA: number;
  readonly unpluggedSeconds: number;
  readonly signature: AcSignature;
  readonly foreignSeconds: number;
  /** Try a reclose by itself after `autoRestoreAfterSeconds`; otherwise wait for an operator. */
  readonly autoRestore: boolean;
  readonly autoRestoreAfterSeconds: number;
  readonly probationSeconds: number;
}

export const DEFAULT_AC_STANDBY_CONFIG: AcStandbyConfig = deepFreeze({
  enabled: true,
  pluggedMinA: 0.01,
  unpluggedSeconds: 30,
  signature: { minW: 300, minPf: 0.5, maxPf: 0.97 },
  foreignSeconds: 5,
  autoRestore: false,
  autoRestoreAfterSeconds: 300,
  probationSeconds: 120,
});

export type AcStandbyPhase = 'monitoring' | 'cut' | 'probation';

export interface AcStandbyState {
  readonly phase: AcStandbyPhase;
  /** monitoring: when the current fell below pluggedMinA; otherwise null. */
  readonly unpluggedSince: number | null;
  /** First reading of the current run of foreign-signature readings. */
  readonly firstForeign: EvidenceSample | null;
  /** cut: when it cut; probation: when the trial reclose was ordered. */
  readonly since: number | null;
}

const MONITORING: AcStandbyState = Object.freeze({
  phase: 'monitoring',
  unpluggedSince: null,
  firstForeign: null,
  since: null,
});

export function initialAcStandbyState(): AcStandbyState {
  return MONITORING;
}

export type AcStandbyInput =
  | { readonly type: 'sample'; readonly sample: RuleSample }
  | { readonly type: 'operatorAllowed'; readonly at: number };

/** |PF| outside the AC band at a power worth judging. */
export function isForeignLoad(signature: AcSignature, sample: RuleSample): boolean {
  const pf = Math.abs(sample.powerFactor);
  return sample.powerW >= signature.minW && (pf < signature.minPf || pf > signature.maxPf);
}

export function evaluateAcStandby(
  config: AcStandbyConfig,
  state: AcStandbyState,
  input: AcStandbyInput,
): RuleResult<AcStandbyState> {
  if (input.type === 'operatorAllowed') {
    return state.phase === 'cut' ? trial(input.at, 'operator allowed', config) : { state, verdict: NO_VERDICT };
  }
  const { sample } = input;
  const { at } = sample;
  if (!config.enabled) {
    return state.phase === 'cut'
      ? { state: MONITORING, verdict: actionVerdict('restore', 'ac_standby', 'AC standby monitoring disabled') }
      : { state: MONITORING, verdict: NO_VERDICT };
  }
  if (state.phase === 'cut') {
    if (config.autoRestore && at - state.since! >= config.autoRestoreAfterSeconds * 1000) {
      return trial(at, 'automatic trial reclose', config);
    }
    return { state, verdict: NO_VERDICT };
  }
  if (!sample.relayClosed) {
    // Opened by something else (or the trial command not applied yet): nothing to judge.
    if (state.phase === 'probation') return probationTimeout(config, state, sample);
    return { state: MONITORING, verdict: NO_VERDICT };
  }

  let firstForeign: EvidenceSample | null = null;
  if (isForeignLoad(config.signature, sample)) {
    firstForeign = state.firstForeign ?? evidenceOf(sample);
    if (at - firstForeign.at >= config.foreignSeconds * 1000) {
      const pf = Math.abs(sample.powerFactor).toFixed(2);
      return cut(
        at,
        `foreign load on the AC circuit: ${Math.round(sample.powerW)} W at PF ${pf}, ` +
          `outside ${config.signature.minPf}..${config.signature.maxPf}`,
        firstForeign.at === at ? [firstForeign] : [firstForeign, evidenceOf(sample)],
      );
    }
  }
  const plugged = sample.currentA >= config.pluggedMinA;

  if (state.phase === 'probation') {
    if (plugged && firstForeign === null) return { state: MONITORING, verdict: NO_VERDICT };
    const timedOut = probationTimeout(config, state, sample);
    if (timedOut.verdict.action !== 'none') return timedOut;
    return { state: same(state, state.unpluggedSince, firstForeign), verdict: NO_VERDICT };
  }

  let unpluggedSince: number | null = null;
  if (!plugged) {
    unpluggedSince = state.unpluggedSince ?? at;
    if (at - unpluggedSince >= config.unpluggedSeconds * 1000) {
      return cut(
        at,
        `AC unplugged: current below ${config.pluggedMinA} A for ${Math.round((at - unpluggedSince) / 1000)} s`,
        [evidenceOf(sample)],
      );
    }
  }
  return { state: same(state, unpluggedSince, firstForeign), verdict: NO_VERDICT };
}

/** Reuses `state` when nothing changed (the common case allocates nothing). */
function same(state: AcStandbyState, unpluggedSince: number | null, firstForeign: EvidenceSample | null): AcStandbyState {
  if (state.unpluggedSince === unpluggedSince && state.firstForeign === firstForeign) return state;
  return { phase: state.phase, unpluggedSince, firstForeign, since: state.since };
}

function probationTimeout(config: AcStandbyConfig, state: AcStandbyState, sample: RuleSample): RuleResult<AcStandbyState> {
  if (sample.at - state.since! >= config.probationSeconds * 1000) {
    return cut(sample.at, `AC still unplugged ${config.probationSeconds} s after the trial reclose`, [
      evidenceOf(sample),
    ]);
  }
  return { state, verdict: NO_VERDICT };
}

function cut(at: number, detail: string, evidence: readonly EvidenceSample[]): RuleResult<AcStandbyState> {
  return {
    state: { phase: 'cut', unpluggedSince: null, firstForeign: null, since: at },
    verdict: actionVerdict('cut', 'ac_standby', detail, evidence),
  };
}

function trial(at: number, why: string, config: AcStandbyConfig): RuleResult<AcStandbyState> {
  return {
    state: { phase: 'probation', unpluggedSince: null, firstForeign: null, since: at },
    verdict: actionVerdict(
      'restore',
      'ac_standby',
      `${why}: the AC must draw current within ${config.probationSeconds} s`,
    ),
  };
}

export function validateAcStandbyConfig(value: unknown): ConfigValidation<AcStandbyConfig> {
  return validated(() => {
    const fields = readObject(value, '', [
      'enabled',
      'pluggedMinA',
      'unpluggedSeconds',
      'signature',
      'foreignSeconds',
      'autoRestore',
      'autoRestoreAfterSeconds',
      'probationSeconds',
    ]);
    const d = DEFAULT_AC_STANDBY_CONFIG;
    const seconds = { min: 0, max: 86_400 };
    return {
      enabled: readBoolean(fields, 'enabled', '', d.enabled),
      pluggedMinA: readNumber(fields, 'pluggedMinA', '', d.pluggedMinA, { min: 0, max: 10 }),
      unpluggedSeconds: readNumber(fields, 'unpluggedSeconds', '', d.unpluggedSeconds, seconds),
      signature: readSignature(fields),
      foreignSeconds: readNumber(fields, 'foreignSeconds', '', d.foreignSeconds, seconds),
      autoRestore: readBoolean(fields, 'autoRestore', '', d.autoRestore),
      autoRestoreAfterSeconds: readNumber(fields, 'autoRestoreAfterSeconds', '', d.autoRestoreAfterSeconds, seconds),
      probationSeconds: readNumber(fields, 'probationSeconds', '', d.probationSeconds, { min: 1, max: 86_400 }),
    };
  });
}

function readSignature(parent: Fields): AcSignature {
  const d = DEFAULT_AC_STANDBY_CONFIG.signature;
  if (parent['signature'] === undefined) return d;
  const fields = readObject(parent['signature'], 'signature', ['minW', 'minPf', 'maxPf']);
  const signature = {
    minW: readNumber(fields, 'minW', 'signature', d.minW, { min: 0, max: 100_000 }),
    minPf: readNumber(fields, 'minPf', 'signature', d.minPf, { min: 0, max: 1 }),
    maxPf: readNumber(fields, 'maxPf', 'signature', d.maxPf, { min: 0, max: 1 }),
  };
  if (signature.maxPf < signature.minPf) throw new InvalidField('signature.maxPf', 'must not be below minPf');
  return signature;
}
