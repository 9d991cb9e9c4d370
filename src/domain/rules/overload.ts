/**
 * Overload of one circuit or of a whole dormitory (the incoming line): powerW > limitW
 * continuously for `holdSeconds` cuts (limit exactly = not over). The hold is measured on
 * the readings' timestamps like low-current mode: the first over reading starts it, the
 * first reading at or after start + holdSeconds cuts; one reading at or below the limit
 * restarts it. After the cut the rule starts afresh: bringing the supply back is the reclose
 * policy's or an operator's decision.
 */
import type { CircuitKind } from '../reading.ts';
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

export interface OverloadConfig {
  readonly enabled: boolean;
  readonly limitW: number;
  readonly holdSeconds: number;
}

/** A socket circuit (10 A at 220 V). */
export const DEFAULT_OVERLOAD_CONFIG: OverloadConfig = deepFreeze({ enabled: true, limitW: 2200, holdSeconds: 10 });

export const DEFAULT_CIRCUIT_OVERLOAD_CONFIGS: Readonly<Record<CircuitKind, OverloadConfig>> = deepFreeze({
  lighting: { enabled: true, limitW: 500, holdSeconds: 10 },
  socket: DEFAULT_OVERLOAD_CONFIG,
  ac: { enabled: true, limitW: 3500, holdSeconds: 10 },
});

export const DEFAULT_DORMITORY_OVERLOAD_CONFIG: OverloadConfig = deepFreeze({
  enabled: true,
  limitW: 5000,
  holdSeconds: 10,
});

export interface OverloadState {
  /** First reading of the current run above the limit. */
  readonly firstOver: EvidenceSample | null;
}

const INITIAL: OverloadState = Object.freeze({ firstOver: null });

export function initialOverloadState(): OverloadState {
  return INITIAL;
}

export function evaluateOverload(
  config: OverloadConfig,
  state: OverloadState,
  sample: RuleSample,
): RuleResult<OverloadState> {
  if (!config.enabled || !(sample.powerW > config.limitW)) return { state: INITIAL, verdict: NO_VERDICT };
  const firstOver = state.firstOver ?? evidenceOf(sample);
  if (sample.at - firstOver.at < config.holdSeconds * 1000) {
    return { state: state.firstOver === null ? { firstOver } : state, verdict: NO_VERDICT };
  }
  return {
    state: INITIAL,
    verdict: actionVerdict(
      'cut',
      'overload',
      `overload: ${Math.round(sample.powerW)} W above ${config.limitW} W ` +
        `for ${Math.round((sample.at - firstOver.at) / 1000)} s`,
      firstOver.at === sample.at ? [firstOver] : [firstOver, evidenceOf(sample)],
    ),
  };
}

export function validateOverloadConfig(
  value: unknown,
  defaults: OverloadConfig = DEFAULT_OVERLOAD_CONFIG,
): ConfigValidation<OverloadConfig> {
  return validated(() => {
    const fields = readObject(value, '', ['enabled', 'limitW', 'holdSeconds']);
    return {
      enabled: readBoolean(fields, 'enabled', '', defaults.enabled),
      limitW: readNumber(fields, 'limitW', '', defaults.limitW, { min: 1, max: 1_000_000 }),
      holdSeconds: readNumber(fields, 'holdSeconds', '', defaults.holdSeconds, { min: 0, max: 3600 }),
    };
  });
}
