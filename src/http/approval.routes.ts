import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { listApprovals } from '../db/approval.repository.ts';
import type { MoneyOperationListener } from '../services/money-operation.service.ts';
import { decideRecharge } from '../services/recharge-approval.service.ts';
import { pagination, RowId } from './schema-bounds.ts';

const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')])),
    operation: Type.Optional(Type.Union([Type.Literal('recharge'), Type.Literal('refund'), Type.Literal('adjustment')])),
    ...pagination(),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: RowId() });
const DecisionBody = Type.Object({ decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]) }, { additionalProperties: false });

/**
 * The second pair of eyes on large recharges (docs/architecture.md, "Separation of duties"):
 * and on large refunds and adjustments: finance users and admins list pending approvals and
 * decide them; the requester cannot.
 */
async function approvalRoutes(app: FastifyInstance, options: { context: AppContext; credits?: MoneyOperationListener }): Promise<void> {
  const money = app.requireRole('admin', 'finance');

  app.get('/api/approvals', { preHandler: money, schema: { tags: ['ledger'], summary: 'Approvals of recharges, refunds and adjustments, newest first', querystring: ListQuery } }, async (request) => {
    const q = request.query as Static<typeof ListQuery>;
    return listApprovals(options.context.db, { state: q.state, operation: q.operation, page: q.page ?? 1, pageSize: q.pageSize ?? 50 });
  });

  app.post(
    '/api/approvals/:id',
    { preHandler: money, schema: { tags: ['ledger'], summary: 'Approve (applies it) or reject a pending recharge, refund or adjustment; not by its requester', params: IdParams, body: DecisionBody } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const { decision } = request.body as Static<typeof DecisionBody>;
      return decideRecharge(options.context, { approvalId: id, decision, operator: request.operator!.username }, options.credits);
    },
  );
}

export default fp(approvalRoutes, { name: 'approval-routes', dependencies: ['auth'] });
