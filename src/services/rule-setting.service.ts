import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { findBuilding, findCampus } from '../db/campus.repository.ts';
import type { Database } from '../db/database.ts';
import { listRuleSettings, saveRuleSetting, type RuleScope } from '../db/rule-setting.repository.ts';
import { isRuleName, resolveRuleBook, RULE_NAMES, RULE_VALIDATORS, type RuleBook, type RuleName } from '../domain/rules/rule-book.ts';
import { DomainError } from '../errors.ts';

/**
 * Safety and schedule rule settings per campus or building (docs/rules.md). A change is
 * validated by the rule's own validator, stored, audited, and applied to the running
 * dormitories at once, without a restart.
 */

/** What a rule change needs of the running actors (CampusRuntime). */
export interface RuleSettingsRuntime {
  /** The rule books changed: every running dormitory takes its new one. Returns how many did. */
  rulesChanged(): Promise<number>;
}

export interface RuleSettingDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly runtime: RuleSettingsRuntime;
}

export interface RuleSettingsView {
  readonly scope: RuleScope;
  readonly scopeId: string;
  readonly rules: readonly RuleName[];
  /** What is stored at this scope, rule by rule. */
  readonly stored: Record<string, unknown>;
  /** The rule book a dormitory under this scope runs: defaults, then the campus's settings, then the building's. */
  readonly effective: RuleBook;
}

export interface RuleChanged {
  readonly scope: RuleScope;
  readonly scopeId: string;
  readonly rule: RuleName;
  readonly config: unknown;
  /** The running dormitories that took the change. */
  readonly appliedTo: number;
}

/** The campus a scope belongs to (404 naming `scopeId` when the scope does not exist). */
async function campusOfScope(db: Kysely<Database>, scope: RuleScope, scopeId: string): Promise<string> {
  if (scope === 'campus') {
    if (!(await findCampus(db, scopeId))) throw new DomainError('NOT_FOUND', `campus ${scopeId} does not exist`, 'scopeId');
    return scopeId;
  }
  const building = await findBuilding(db, scopeId);
  if (!building) throw new DomainError('BUILDING_NOT_FOUND', `building ${scopeId} does not exist`, 'scopeId');
  return building.campusId;
}

export async function ruleSettingsOf(deps: Pick<RuleSettingDeps, 'db'>, scope: RuleScope, scopeId: string): Promise<RuleSettingsView> {
  const campusId = await campusOfScope(deps.db, scope, scopeId);
  const rows = await listRuleSettings(deps.db, [{ scope: 'campus', scopeId: campusId }, { scope, scopeId }]);
  const layer = (s: RuleScope, id: string) => Object.fromEntries(rows.filter((r) => r.scope === s && r.scopeId === id).map((r) => [r.rule, r.config]));
  const stored = layer(scope, scopeId);
  return { scope, scopeId, rules: RULE_NAMES, stored, effective: resolveRuleBook(layer('campus', campusId), scope === 'building' ? stored : {}) };
}

/** Sets one rule at a campus or building: 400 INVALID_RULE_CONFIG names the field inside `config`. */
export async function setRule(deps: RuleSettingDeps, scope: RuleScope, scopeId: string, rule: string, config: unknown, operator: string): Promise<RuleChanged> {
  if (!isRuleName(rule)) throw new DomainError('VALIDATION_FAILED', `unknown rule "${rule}"; one of ${RULE_NAMES.join(', ')}`, 'rule');
  await campusOfScope(deps.db, scope, scopeId);
  const checked = RULE_VALIDATORS[rule](config);
  if (!checked.ok) throw new DomainError('INVALID_RULE_CONFIG', `${rule}: ${checked.field || 'config'} ${checked.message}`, checked.field ? `config.${checked.field}` : 'config');
  await deps.db.transaction().execute(async (trx) => {
    await saveRuleSetting(trx, { scope, scopeId, rule, config: checked.config, operator, at: new Date(deps.clock.now()) });
    await appendAudit(trx, { operator, action: 'rule.set', targetType: scope, targetId: scopeId, details: { rule, config: checked.config } });
  });
  const appliedTo = await deps.runtime.rulesChanged();
  return { scope, scopeId, rule, config: checked.config, appliedTo };
}
