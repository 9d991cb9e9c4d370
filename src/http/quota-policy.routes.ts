import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { listQuotaPolicies } from '../db/quota-policy.repository.ts';
import { assignQuotaPolicyTo, createQuotaPolicy, type QuotaRuntime } from '../services/quota-policy.service.ts';
import { AssignBody, selectorOf } from './dormitory-selector.ts';

const PolicyBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    purse: Type.Union([Type.Literal('electricity'), Type.Literal('water')]),
    monthlyAllowance: Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'Base units (Wh, litres) free to the room each local month, used before money' }),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Free quota policies over REST (issue 10): a monthly allowance per dormitory purse, used before money. */
async function quotaPolicyRoutes(app: FastifyInstance, options: { context: AppContext; runtime: QuotaRuntime }): Promise<void> {
  const deps = { db: options.context.db, runtime: options.runtime };
  const writers = app.requireRole('admin', 'finance');
  app.get('/api/quota-policies', { preHandler: app.requireRole('admin', 'manager', 'finance'), schema: { tags: ['tariffs'], summary: 'Free quota policies' } }, async () => ({ policies: await listQuotaPolicies(deps.db) }));
  app.post('/api/quota-policies', { preHandler: writers, schema: { tags: ['tariffs'], summary: 'Create a free quota policy (a monthly allowance of a purse per dormitory)', body: PolicyBody } }, async (request, reply) =>
    reply.status(201).send(await createQuotaPolicy(deps, request.body as Static<typeof PolicyBody>, request.operator!.username)),
  );
  app.post(
    '/api/quota-policies/:id/assignments',
    { preHandler: writers, schema: { tags: ['tariffs'], summary: "Give a free quota policy to a building, a floor or a list of dormitories (for its purse; live)", params: IdParams, body: AssignBody } },
    async (request) => assignQuotaPolicyTo(deps, (request.params as Static<typeof IdParams>).id, selectorOf(request.body as Static<typeof AssignBody>, ''), request.operator!.username),
  );
}

export default fp(quotaPolicyRoutes, { name: 'quota-policy-routes', dependencies: ['auth'] });
