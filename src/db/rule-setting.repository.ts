import type { Executor } from './executor.ts';

/** A rule's stored settings at one scope (docs/rules.md): a building's override a campus's, rule by rule. */
export type RuleScope = 'campus' | 'building';

export interface RuleSettingRow {
  readonly scope: RuleScope;
  readonly scopeId: string;
  readonly rule: string;
  readonly config: unknown;
  readonly updatedAt: Date;
  readonly updatedBy: string | null;
}

/** The settings stored for the given scopes (e.g. a building and its campus). */
export async function listRuleSettings(db: Executor, scopes: readonly { scope: RuleScope; scopeId: string }[]): Promise<RuleSettingRow[]> {
  if (scopes.length === 0) return [];
  const rows = await db
    .selectFrom('rule_settings')
    .select(['scope', 'scope_id', 'rule', 'config', 'updated_at', 'updated_by'])
    .where((eb) => eb.or(scopes.map((s) => eb.and([eb('scope', '=', s.scope), eb('scope_id', '=', s.scopeId)]))))
    .execute();
  return rows.map((r) => ({ scope: r.scope, scopeId: r.scope_id, rule: r.rule, config: r.config, updatedAt: r.updated_at, updatedBy: r.updated_by }));
}

/** Stores one rule's (already validated) settings at a scope, replacing what was there. */
export async function saveRuleSetting(db: Executor, setting: { scope: RuleScope; scopeId: string; rule: string; config: unknown; operator: string; at: Date }): Promise<void> {
  const config = JSON.stringify(setting.config);
  await db
    .insertInto('rule_settings')
    .values({ scope: setting.scope, scope_id: setting.scopeId, rule: setting.rule, config, updated_by: setting.operator, updated_at: setting.at })
    .onConflict((oc) => oc.columns(['scope', 'scope_id', 'rule']).doUpdateSet({ config, updated_by: setting.operator, updated_at: setting.at }))
    .execute();
}
