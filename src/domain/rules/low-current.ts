/**
 * Socket low-current mode during lights-off: phones and a laptop are fine, anything drawing
 * more than `thresholdW` for `holdSeconds` cuts the socket circuit. The cut holds until
 * lights-on or an operator release, whatever the socket reads meanwhile.
 *
 * Over = powerW > thresholdW (exactly at the threshold is allowed). The hold is measured on
 * the readings' own timestamps: the first over reading starts it, the first reading at or
 * after start + holdSeconds cuts (holdSeconds 0 cuts on the first over reading). One
 * reading at or below the threshold restarts it.
 */
import {
  deepFreeze,
  readBoolean,
  readNumber,
  readObject,
  validated,
  type ConfigValidation,
} from './config-validation.ts';
import { evidenceOf, type RuleSample } from './rule-sample.ts';
import { NO_VERDICT, actionVerdict, type EvidenceSample, type RuleResult } from './rule-verdict.ts';

export interface LowCurrentConfig {
  readonly enabled: boolean;
  readonly thresholdW: number;
  readonly holdSeconds: number;
}

export const DEFAULT_LOW_CURRENT_CONFIG: LowCurrentConfig = deepFreeze({
  enabled: true,
  thresholdW: 100,
  holdSeconds: 5,
});

export interface LowCurrentState {
  /** The rule has cut the socket and waits for lights-on or an operator. */
  readonly cut: boolean;
  /** First reading of the current run above the threshold. */
  readonly firstOver: EvidenceSample | null;
}

const INITIAL: LowCurrentState = Object.freeze({ cut: false, firstOver: null });
const CUT: LowCurrentState = Object.freeze({ cut: true, firstOver: null });

export function initialLowCurrentState(): LowCurrentState {
  return INITIAL;
}

export type LowCurrentInput =
  | { readonly type: 'sample'; readonly sample: RuleSample; readonly lightsOn: boolean }
  /** The lighting phase turned to lights-on (from the schedule timer). */
  | { readonly type: 'lightsOn'; readonly at: number }
  | { readonly type: 'releasedByOperator'; readonly at: number };

export function evaluateLowCurrent(
  config: LowCurrentConfig,
  state: LowCurrentState,
  input: LowCurrentInput,
): RuleResult<LowCurrentState> {
  switch (input.type) {
    case 'releasedByOperator':
      return state.cut ? restore('released by operator') : { state: INITIAL, verdict: NO_VERDICT };
    case 'lightsOn':
      return state.cut ? restore('lights on') : { state: INITIAL, verdict: NO_VERDICT };
    case 'sample':
      break;
  }
  if (!config.enabled) return state.cut ? restore('low-current mode disabled') : { state: INITIAL, verdict: NO_VERDICT };
  if (input.lightsOn) return state.cut ? restore('lights on') : { state: INITIAL, verdict: NO_VERDICT };
  if (state.cut) return { state, verdict: NO_VERDICT };

  const { sample } = input;
  if (!(sample.powerW > config.thresholdW)) {
    return { state: state.firstOver === null ? state : INITIAL, verdict: NO_VERDICT };
  }
  const firstOver = state.firstOver ?? evidenceOf(sample);
  if (sample.at - firstOver.at < config.holdSeconds * 1000) {
    return { state: state.firstOver === null ? { cut: false, firstOver } : state, verdict: NO_VERDICT };
  }
  const evidence = firstOver.at === sample.at ? [firstOver] : [firstOver, evidenceOf(sample)];
  return {
    state: CUT,
    verdict: actionVerdict(
      'cut',
      'low_current',
      `lights-off low-current mode: ${Math.round(sample.powerW)} W above ${config.thresholdW} W ` +
        `for ${Math.round((sample.at - firstOver.at) / 1000)} s`,
      evidence,
    ),
  };
}

function restore(detail: string): RuleResult<LowCurrentState> {
  return { state: INITIAL, verdict: actionVerdict('restore', 'low_current', detail) };
}

export function validateLowCurrentConfig(value: unknown): ConfigValidation<LowCurrentConfig> {
  return validated(() => {
    const fields = readObject(value, '', ['enabled', 'thresholdW', 'holdSeconds']);
    const d = DEFAULT_LOW_CURRENT_CONFIG;
    return {
      enabled: readBoolean(fields, 'enabled', '', d.enabled),
      thresholdW: readNumber(fields, 'thresholdW', '', d.thresholdW, { min: 0, max: 100_000 }),
      holdSeconds: readNumber(fields, 'holdSeconds', '', d.holdSeconds, { min: 0, max: 3600 }),
    };
  });
}
