/**
 * Why a circuit is off. A circuit is supplied only when no reason holds; lifting one reason
 * never restores a circuit another reason still holds off.
 */
export type CutReason =
  | 'arrears'
  | 'water_arrears'
  | 'manual'
  | 'holiday'
  | 'lights_off'
  | 'low_current'
  | 'ac_standby'
  | 'malignant_load'
  | 'overload'
  | 'tamper';

export const DORMITORY_CUT_REASONS: readonly CutReason[] = ['arrears', 'water_arrears', 'manual', 'holiday'];
export const SAFETY_CUT_REASONS: readonly CutReason[] = ['low_current', 'ac_standby', 'malignant_load', 'overload', 'tamper'];

/** The reason shown first when several hold (most actionable first). */
const DISPLAY_ORDER: readonly CutReason[] = ['manual', 'arrears', 'water_arrears', 'malignant_load', 'overload', 'tamper', 'ac_standby', 'low_current', 'holiday', 'lights_off'];

export function primaryCutReason(reasons: ReadonlySet<CutReason>): CutReason | null {
  for (const reason of DISPLAY_ORDER) if (reasons.has(reason)) return reason;
  return null;
}
