import type { Executor } from '../../src/db/executor.ts';
import { saveRuleSetting } from '../../src/db/rule-setting.repository.ts';
import { isRuleName, RULE_VALIDATORS } from '../../src/domain/rules/rule-book.ts';

/** Rules that stay out of the way (no lights-off at a simulated night, no appliance tripping a rule) unless a test sets them. */
export const QUIET_RULES: Readonly<Record<string, unknown>> = {
  lightingSchedule: { nights: Object.fromEntries(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, null])) },
  malignantLoad: { mode: 'off' },
  lowCurrent: { enabled: false },
  acStandby: { enabled: false },
};

/** QUIET_RULES and no overload rule either: the campus rules of live-app's quietRules. */
export const QUIET_RULE_SETTINGS: Readonly<Record<string, unknown>> = {
  ...QUIET_RULES,
  overloadLighting: { enabled: false },
  overloadSocket: { enabled: false },
  overloadAc: { enabled: false },
  overloadDormitory: { enabled: false },
};

/**
 * Stores campus rule settings as the rules API does (each validated by its rule's validator),
 * for an app not yet started: its dormitories boot with them.
 */
export async function writeCampusRules(db: Executor, campus: string, rules: Readonly<Record<string, unknown>> = QUIET_RULES): Promise<void> {
  for (const [rule, config] of Object.entries(rules)) {
    if (!isRuleName(rule)) throw new Error(`unknown rule ${rule}`);
    const checked = RULE_VALIDATORS[rule](config);
    if (!checked.ok) throw new Error(`${rule}: ${checked.field} ${checked.message}`);
    await saveRuleSetting(db, { scope: 'campus', scopeId: campus, rule, config: checked.config, operator: 'test', at: new Date() });
  }
}
