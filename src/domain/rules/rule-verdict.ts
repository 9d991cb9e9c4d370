/**
 * What every safety/schedule rule answers after looking at one input: nothing, or an
 * action with the reason the operator will see (`cutReason`), a human detail and, for
 * rules that judge power, the readings that made the decision (evidence).
 *
 * The rules never send commands themselves: the circuit/dormitory actor turns a verdict
 * into a supply command, an alarm and an audit entry. Every 'cut' also raises an alarm;
 * 'alarm' is for alarm-only outcomes (tamper without cut, malignant load in alarm mode,
 * reclose lock-out).
 */

/** Why a rule cut (or, for 'restore', why the supply had been cut). */
export type CutReason =
  | 'lights_off'
  | 'holiday'
  | 'low_current'
  | 'ac_standby'
  | 'malignant_load'
  | 'overload'
  | 'tamper';

export const CUT_REASONS: readonly CutReason[] = [
  'lights_off',
  'holiday',
  'low_current',
  'ac_standby',
  'malignant_load',
  'overload',
  'tamper',
];

export type VerdictAction = 'alarm' | 'cut' | 'restore';

/** One reading kept as evidence of a trip. */
export interface EvidenceSample {
  /** Epoch ms on the injected clock. */
  readonly at: number;
  readonly powerW: number;
  /** Signed, -1..1 as the meter reports it. */
  readonly powerFactor: number;
  readonly apparentVA: number;
}

export interface NoVerdict {
  readonly action: 'none';
}

export interface ActionVerdict {
  readonly action: VerdictAction;
  readonly reason: CutReason;
  readonly detail: string;
  /** Oldest first. Present on trips decided from power readings. */
  readonly evidence?: readonly EvidenceSample[];
}

export type RuleVerdict = NoVerdict | ActionVerdict;

/** Shared, frozen: returning it allocates nothing on the common path. */
export const NO_VERDICT: NoVerdict = Object.freeze({ action: 'none' });

export interface RuleResult<S> {
  readonly state: S;
  readonly verdict: RuleVerdict;
}

export function actionVerdict(
  action: VerdictAction,
  reason: CutReason,
  detail: string,
  evidence?: readonly EvidenceSample[],
): ActionVerdict {
  return evidence === undefined ? { action, reason, detail } : { action, reason, detail, evidence };
}
