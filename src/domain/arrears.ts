/**
 * Arrears rules of a purse, pure. Balances are minor units.
 * - warning levels (descending): level k is reached when the balance falls below levels[k];
 * - overdraft: below 0 but not below -overdraftLimit;
 * - cut: below -overdraftLimit;
 * - restore (after a cut): only once the balance is at or above restoreThreshold (>= 0), so a
 *   cut dormitory does not flap on and off around the limit.
 */
export interface ArrearsPolicy {
  readonly warningLevels: readonly number[];
  readonly overdraftLimit: number;
  readonly restoreThreshold: number;
}

export const DEFAULT_ARREARS_POLICY: ArrearsPolicy = Object.freeze({ warningLevels: Object.freeze([2000, 500]), overdraftLimit: 0, restoreThreshold: 100 });

export type PurseStanding = 'normal' | 'low_balance' | 'overdraft' | 'cut';

export interface PurseAssessment {
  readonly standing: PurseStanding;
  /** 0 = no warning; k = the k-th warning level has been crossed. */
  readonly warningLevel: number;
}

export function assessPurse(policy: ArrearsPolicy, balance: number, currentlyCut: boolean): PurseAssessment {
  let warningLevel = 0;
  policy.warningLevels.forEach((level, index) => {
    if (balance < level) warningLevel = index + 1;
  });
  if (balance < -policy.overdraftLimit) return { standing: 'cut', warningLevel };
  if (currentlyCut && balance < Math.max(0, policy.restoreThreshold)) return { standing: 'cut', warningLevel };
  if (balance < 0) return { standing: 'overdraft', warningLevel };
  if (warningLevel > 0) return { standing: 'low_balance', warningLevel };
  return { standing: 'normal', warningLevel };
}

export function parseArrearsPolicy(value: unknown): ArrearsPolicy {
  if (typeof value !== 'object' || value === null) return DEFAULT_ARREARS_POLICY;
  const v = value as Record<string, unknown>;
  const levels = Array.isArray(v.warningLevels) ? v.warningLevels.filter((x): x is number => Number.isSafeInteger(x)) : DEFAULT_ARREARS_POLICY.warningLevels;
  return Object.freeze({
    warningLevels: Object.freeze([...levels].sort((a, b) => b - a)),
    overdraftLimit: Number.isSafeInteger(v.overdraftLimit) && (v.overdraftLimit as number) >= 0 ? (v.overdraftLimit as number) : DEFAULT_ARREARS_POLICY.overdraftLimit,
    restoreThreshold: Number.isSafeInteger(v.restoreThreshold) ? (v.restoreThreshold as number) : DEFAULT_ARREARS_POLICY.restoreThreshold,
  });
}
