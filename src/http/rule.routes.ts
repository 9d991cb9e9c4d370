import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { CampusRuntime } from '../actors/campus-runtime.ts';
import type { AppContext } from '../app-context.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { isRuleName, resolveRuleBook, RULE_NAMES, RULE_VALIDATORS } from '../domain/rules/rule-book.ts';
import { DomainError } from '../errors.ts';

const ScopeParams = Type.Object({ scope: Type.Union([Type.Literal('campus'), Type.Literal('building')]), scopeId: Type.String({ minLength: 1, maxLength: 64 }) });
const RuleParams = Type.Object({ scope: Type.Union([Type.Literal('campus'), Type.Literal('building')]), scopeId: Type.String({ minLength: 1, maxLength: 64 }), rule: Type.String({ minLength: 1, maxLength: 64 }) });
const RuleBody = Type.Object({ config: Type.Unknown() }, { additionalProperties: false });

/**
 * Safety and schedule rule settings per campus or building (docs/rules.md). A PUT is
 * validated by the rule's own validator (400 names the field inside `config`), stored,
 * audited, and applied to the running dormitories at once, without a restart.
 */
async function ruleRoutes(app: FastifyInstance, options: { context: AppContext; runtime: CampusRuntime }): Promise<void> {
  const { db } = options.context;

  async function assertScope(scope: 'campus' | 'building', scopeId: string): Promise<string> {
    if (scope === 'campus') {
      if (!(await db.selectFrom('campuses').select('id').where('id', '=', scopeId).executeTakeFirst())) throw new DomainError('NOT_FOUND', `campus ${scopeId} does not exist`, 'scopeId');
      return scopeId;
    }
    const building = await db.selectFrom('buildings').select(['id', 'campus_id']).where('id', '=', scopeId).executeTakeFirst();
    if (!building) throw new DomainError('BUILDING_NOT_FOUND', `building ${scopeId} does not exist`, 'scopeId');
    return building.campus_id;
  }

  app.get(
    '/api/rules/:scope/:scopeId',
    { preHandler: app.requireRole('admin', 'manager'), schema: { tags: ['rules'], summary: 'Stored rule settings of a campus or building, and the effective rule book', params: ScopeParams } },
    async (request) => {
      const { scope, scopeId } = request.params as Static<typeof ScopeParams>;
      const campusId = await assertScope(scope, scopeId);
      const rows = await db.selectFrom('rule_settings').select(['scope', 'scope_id', 'rule', 'config', 'updated_at', 'updated_by']).where((eb) => eb.or([eb.and([eb('scope', '=', 'campus'), eb('scope_id', '=', campusId)]), eb.and([eb('scope', '=', scope), eb('scope_id', '=', scopeId)])])).execute();
      const layer = (s: string, id: string) => Object.fromEntries(rows.filter((r) => r.scope === s && r.scope_id === id).map((r) => [r.rule, r.config]));
      const stored = layer(scope, scopeId);
      return { scope, scopeId, rules: RULE_NAMES, stored, effective: resolveRuleBook(layer('campus', campusId), scope === 'building' ? stored : {}) };
    },
  );

  app.put(
    '/api/rules/:scope/:scopeId/:rule',
    { preHandler: app.requireRole('admin', 'manager'), schema: { tags: ['rules'], summary: 'Set one rule for a campus or building (live)', params: RuleParams, body: RuleBody } },
    async (request) => {
      const { scope, scopeId, rule } = request.params as Static<typeof RuleParams>;
      if (!isRuleName(rule)) throw new DomainError('VALIDATION_FAILED', `unknown rule "${rule}"; one of ${RULE_NAMES.join(', ')}`, 'rule');
      await assertScope(scope, scopeId);
      const { config } = request.body as Static<typeof RuleBody>;
      const checked = RULE_VALIDATORS[rule](config);
      if (!checked.ok) throw new DomainError('INVALID_RULE_CONFIG', `${rule}: ${checked.field || 'config'} ${checked.message}`, checked.field ? `config.${checked.field}` : 'config');
      const operator = request.operator!.username;
      const json = JSON.stringify(checked.config);
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('rule_settings')
          .values({ scope, scope_id: scopeId, rule, config: json, updated_by: operator, updated_at: new Date() })
          .onConflict((oc) => oc.columns(['scope', 'scope_id', 'rule']).doUpdateSet({ config: json, updated_by: operator, updated_at: new Date() }))
          .execute();
        await appendAudit(trx, { operator, action: 'rule.set', targetType: scope, targetId: scopeId, details: { rule, config: checked.config } });
      });
      const applied = await options.runtime.rulesChanged();
      return { scope, scopeId, rule, config: checked.config, appliedTo: applied };
    },
  );
}

export default fp(ruleRoutes, { name: 'rule-routes', dependencies: ['auth'] });
