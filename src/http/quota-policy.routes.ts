import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { listQuotaPolicies } from '../db/quota-policy.repository.ts';
import { assignQuotaPolicyTo, createQuotaPolicy, issueQuotaTo, type QuotaRuntime } from '../services/quota-policy.service.ts';
import { AssignBody, ScopeBody, scopeOf, selectorOf } from './dormitory-selector.ts';

const PolicyBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    purse: Type.Union([Type.Literal('electricity'), Type.Literal('water')]),
    allowance: Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'Base units (Wh, litres) free per period, used before money: to the room, or to each occupant present at grant time' }),
    basis: Type.Optional(Type.Union([Type.Literal('per-dormitory'), Type.Literal('per-occupant')], { description: "default 'per-dormitory'" })),
    period: Type.Optional(Type.Union([Type.Literal('month'), Type.Literal('semester')], { description: "local calendar month (default) or the campus's semesters (campus settings); unused quota lapses at the period's end" })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/**
 * Free quota policies over REST (issue 10): an allowance per dormitory or per occupant, per month
 * or per semester, assigned to dormitories, issued in batch, lapsing at the period's end; used
 * before money.
 */
async function quotaPolicyRoutes(app: FastifyInstance, options: { context: AppContext; runtime: QuotaRuntime }): Promise<void> {
  const deps = { db: options.context.db, runtime: options.runtime, clock: options.context.clock, fence: options.context.fence };
  const writers = app.requireRole('admin', 'finance');
  app.get('/api/quota-policies', { preHandler: app.requireRole('admin', 'manager', 'finance'), schema: { tags: ['tariffs'], summary: 'Free quota policies' } }, async () => ({ policies: await listQuotaPolicies(deps.db) }));
  app.post('/api/quota-policies', { preHandler: writers, schema: { tags: ['tariffs'], summary: 'Create a free quota policy (an allowance of a purse per dormitory or per occupant, per month or semester)', body: PolicyBody } }, async (request, reply) => {
    const body = request.body as Static<typeof PolicyBody>;
    return reply.status(201).send(await createQuotaPolicy(deps, { ...body, basis: body.basis ?? 'per-dormitory', period: body.period ?? 'month' }, request.operator!.username));
  });
  app.post(
    '/api/quota-policies/:id/assignments',
    { preHandler: writers, schema: { tags: ['tariffs'], summary: "Give a free quota policy to a building, a floor or a list of dormitories (for its purse; live)", params: IdParams, body: AssignBody } },
    async (request) => assignQuotaPolicyTo(deps, (request.params as Static<typeof IdParams>).id, selectorOf(request.body as Static<typeof AssignBody>, ''), request.operator!.username),
  );
  app.post(
    '/api/quota-policies/:id/issue',
    {
      preHandler: writers,
      schema: {
        tags: ['tariffs'],
        summary: "Issue the current period's quota now to a building, a floor or a list of dormitories that have this policy (idempotent per period)",
        params: IdParams,
        body: ScopeBody,
      },
    },
    async (request) => issueQuotaTo(deps, (request.params as Static<typeof IdParams>).id, scopeOf(request.body as Static<typeof ScopeBody>), request.operator!.username),
  );
}

export default fp(quotaPolicyRoutes, { name: 'quota-policy-routes', dependencies: ['auth'] });
