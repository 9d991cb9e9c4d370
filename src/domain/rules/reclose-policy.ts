/**
 * What happens after a protective trip (malignant load, overload): reclose automatically
 * `cooldownSeconds` after the trip, at most `maxReclosesPerDay` times per local day; the
 * next trip once they are used up locks the circuit off until an operator releases it.
 *
 * The count belongs to the local day of the reclose and starts again at local midnight; a
 * lock-out does not end at midnight, only by release. The trip that finds the count used up
 * is decided with the count of its own day. maxReclosesPerDay 0 = never reclose by itself.
 * The rule does not cut: the detecting rule's verdict did. It answers 'restore' when the
 * cooldown is over (the actor schedules a timer for `state.recloseAt`) and 'alarm' on
 * lock-out.
 */
import type { TimeZone } from '../local-time.ts';
import { localDayOf } from './calendar.ts';
import { deepFreeze, readNumber, readObject, validated, type ConfigValidation } from './config-validation.ts';
import { NO_VERDICT, actionVerdict, type CutReason, type RuleResult } from './rule-verdict.ts';

export interface ReclosePolicyConfig {
  readonly cooldownSeconds: number;
  readonly maxReclosesPerDay: number;
}

export const DEFAULT_RECLOSE_POLICY_CONFIG: ReclosePolicyConfig = deepFreeze({
  cooldownSeconds: 60,
  maxReclosesPerDay: 3,
});

export type ReclosePhase = 'closed' | 'cooling' | 'locked';

export interface ReclosePolicyState {
  readonly phase: ReclosePhase;
  /** Reason of the trip being handled (cooling, locked); null when closed. */
  readonly reason: CutReason | null;
  /** cooling: when to reclose (epoch ms); otherwise null. */
  readonly recloseAt: number | null;
  /** Automatic recloses done on local day `countDay`. */
  readonly reclosesToday: number;
  readonly countDay: number | null;
}

const INITIAL: ReclosePolicyState = Object.freeze({
  phase: 'closed',
  reason: null,
  recloseAt: null,
  reclosesToday: 0,
  countDay: null,
});

export function initialReclosePolicyState(): ReclosePolicyState {
  return INITIAL;
}

export interface ReclosePolicyInstant {
  readonly at: number;
  /** The campus's zone: "today" for the daily count is its local day. */
  readonly zone: TimeZone;
}

export type ReclosePolicyInput =
  | (ReclosePolicyInstant & { readonly type: 'tripped'; readonly reason: CutReason })
  /** A timer at `recloseAt` or any reading: recloses when the cooldown is over. */
  | (ReclosePolicyInstant & { readonly type: 'tick' })
  | (ReclosePolicyInstant & { readonly type: 'releasedByOperator' });

function localDay(input: ReclosePolicyInstant): number {
  return localDayOf(input.at, input.zone);
}

function usedOn(state: ReclosePolicyState, day: number): number {
  return state.countDay === day ? state.reclosesToday : 0;
}

export function evaluateReclosePolicy(
  config: ReclosePolicyConfig,
  state: ReclosePolicyState,
  input: ReclosePolicyInput,
): RuleResult<ReclosePolicyState> {
  switch (input.type) {
    case 'tripped': {
      if (state.phase !== 'closed') return { state, verdict: NO_VERDICT };
      const used = usedOn(state, localDay(input));
      if (used < config.maxReclosesPerDay) {
        return {
          state: { ...state, phase: 'cooling', reason: input.reason, recloseAt: input.at + config.cooldownSeconds * 1000 },
          verdict: NO_VERDICT,
        };
      }
      return {
        state: { ...state, phase: 'locked', reason: input.reason, recloseAt: null },
        verdict: actionVerdict(
          'alarm',
          input.reason,
          `locked off: ${used} of ${config.maxReclosesPerDay} automatic recloses used today; operator release required`,
        ),
      };
    }
    case 'tick': {
      if (state.phase !== 'cooling' || input.at < state.recloseAt!) return { state, verdict: NO_VERDICT };
      const day = localDay(input);
      const used = usedOn(state, day) + 1;
      return {
        state: { phase: 'closed', reason: null, recloseAt: null, reclosesToday: used, countDay: day },
        verdict: actionVerdict(
          'restore',
          state.reason!,
          `automatic reclose ${used} of ${config.maxReclosesPerDay} today`,
        ),
      };
    }
    case 'releasedByOperator': {
      const released: ReclosePolicyState = { ...INITIAL, countDay: localDay(input) };
      if (state.phase === 'closed') return { state: released, verdict: NO_VERDICT };
      return { state: released, verdict: actionVerdict('restore', state.reason!, 'released by operator') };
    }
  }
}

export function validateReclosePolicyConfig(value: unknown): ConfigValidation<ReclosePolicyConfig> {
  return validated(() => {
    const fields = readObject(value, '', ['cooldownSeconds', 'maxReclosesPerDay']);
    const d = DEFAULT_RECLOSE_POLICY_CONFIG;
    return {
      cooldownSeconds: readNumber(fields, 'cooldownSeconds', '', d.cooldownSeconds, { min: 0, max: 86_400 }),
      maxReclosesPerDay: readNumber(fields, 'maxReclosesPerDay', '', d.maxReclosesPerDay, {
        min: 0,
        max: 100,
        integer: true,
      }),
    };
  });
}
