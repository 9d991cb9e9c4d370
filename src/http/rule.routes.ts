import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { CampusRuntime } from '../actors/campus-runtime.ts';
import type { AppContext } from '../app-context.ts';
import { ruleSettingsOf, setRule, type RuleSettingDeps } from '../services/rule-setting.service.ts';

const ScopeParams = Type.Object({ scope: Type.Union([Type.Literal('campus'), Type.Literal('building')]), scopeId: Type.String({ minLength: 1, maxLength: 64 }) });
const RuleParams = Type.Object({ scope: Type.Union([Type.Literal('campus'), Type.Literal('building')]), scopeId: Type.String({ minLength: 1, maxLength: 64 }), rule: Type.String({ minLength: 1, maxLength: 64 }) });
const RuleBody = Type.Object({ config: Type.Unknown() }, { additionalProperties: false });

/** Safety and schedule rule settings per campus or building (src/services/rule-setting.service.ts, docs/rules.md). */
async function ruleRoutes(app: FastifyInstance, options: { context: AppContext; runtime: CampusRuntime }): Promise<void> {
  const deps: RuleSettingDeps = { db: options.context.db, clock: options.context.clock, runtime: options.runtime };

  app.get(
    '/api/rules/:scope/:scopeId',
    { preHandler: app.requireRole('admin', 'manager'), schema: { tags: ['rules'], summary: 'Stored rule settings of a campus or building, and the effective rule book', params: ScopeParams } },
    async (request) => {
      const { scope, scopeId } = request.params as Static<typeof ScopeParams>;
      return ruleSettingsOf(deps, scope, scopeId);
    },
  );

  app.put(
    '/api/rules/:scope/:scopeId/:rule',
    { preHandler: app.requireRole('admin', 'manager'), schema: { tags: ['rules'], summary: 'Set one rule for a campus or building (live)', params: RuleParams, body: RuleBody } },
    async (request) => {
      const { scope, scopeId, rule } = request.params as Static<typeof RuleParams>;
      const { config } = request.body as Static<typeof RuleBody>;
      return setRule(deps, scope, scopeId, rule, config, request.operator!.username);
    },
  );
}

export default fp(ruleRoutes, { name: 'rule-routes', dependencies: ['auth'] });
