import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { MoneyOperationKind } from '../db/database.ts';
import { requestMoneyOperation, type MoneyOperationListener } from '../services/money-operation.service.ts';
import { ErrorResponses } from './error-schemas.ts';
import type { LiveBalances } from './recharge.routes.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Purse = Type.Optional(Type.Union([Type.Literal('electricity'), Type.Literal('water')], { default: 'electricity' }));
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'why: kept on the ledger entry and in the audit log' });
const Reference = Type.String({ minLength: 1, maxLength: 128, description: 'the office reference; a repeat applies nothing' });
const RefundBody = Type.Object(
  { amount: Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'minor units (fen) paid back out of the purse' }), purse: Purse, reason: Reason, reference: Reference },
  { additionalProperties: false },
);
const AdjustmentBody = Type.Object(
  {
    amount: Type.Integer({ minimum: -100_000_000, maximum: 100_000_000, description: 'signed minor units (fen), not zero: positive credits the purse, negative debits it' }),
    purse: Purse,
    reason: Reason,
    reference: Reference,
  },
  { additionalProperties: false },
);
const Result = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('refund'), Type.Literal('adjustment')]),
  purse: Type.String(),
  amount: Type.Integer({ description: 'as requested' }),
  ledgerAmount: Type.Integer({ description: 'the signed ledger entry: a refund is negative' }),
  reason: Type.String(),
  reference: Type.String(),
  operator: Type.String(),
  balance: Type.Integer({ description: "the purse's balance now: live when its dormitory runs, else the ledger's" }),
  balanceSource: Type.Union([Type.Literal('live'), Type.Literal('ledger')]),
  ledgerBalance: Type.Integer({ description: 'the committed ledger balance right after this operation' }),
});
const Pending = Type.Object({ approvalId: Type.Integer(), state: Type.Literal('pending'), purse: Type.String(), amount: Type.Integer(), reference: Type.String(), requestedBy: Type.String() });

/**
 * Refunds and adjustments: finance (or admin) only, idempotent by reference, audited with the
 * operator; above REFUND_APPROVAL_THRESHOLD_FEN (absolute) a 202 with a pending approval that a
 * second finance user decides at POST /api/approvals/:id. They move the running dormitory's
 * balance exactly as a recharge does (cut-off and restore follow).
 */
async function moneyOperationRoutes(app: FastifyInstance, options: { context: AppContext; live?: MoneyOperationListener; balances?: LiveBalances }): Promise<void> {
  const route = (kind: MoneyOperationKind, body: typeof RefundBody | typeof AdjustmentBody, summary: string) =>
    app.post(
      `/api/dormitories/:id/${kind}s`,
      {
        preHandler: app.requireRole('admin', 'finance'),
        schema: { tags: ['ledger'], summary, params: Params, body, response: { 200: Result, 201: Result, 202: Pending, ...ErrorResponses } },
      },
      async (request, reply) => {
        const { id } = request.params as Static<typeof Params>;
        const input = request.body as Static<typeof RefundBody>;
        const command = { kind, dormitoryId: id, purse: input.purse ?? 'electricity', amount: input.amount, reason: input.reason, reference: input.reference, operator: request.operator!.username } as const;
        const result = await requestMoneyOperation(options.context, command, options.context.config.refundApprovalThresholdFen, options.live);
        if (result.kind === 'pending') {
          const a = result.approval;
          return reply.status(202).send({ approvalId: a.id, state: 'pending', purse: a.purse, amount: a.amount, reference: a.reference, requestedBy: a.requestedBy });
        }
        const op = result.operation;
        const live = await options.balances?.liveBalance(id, op.purse).catch(() => undefined);
        return reply.status(result.created ? 201 : 200).send({ ...op, balance: live ?? op.balance, balanceSource: live === undefined ? 'ledger' : 'live', ledgerBalance: op.balance });
      },
    );
  route('refund', RefundBody, 'Refund money out of a purse (idempotent by reference; above the approval threshold it waits for a second finance user)');
  route('adjustment', AdjustmentBody, 'Adjust a purse by a signed amount (idempotent by reference; above the approval threshold it waits for a second finance user)');
}

export default fp(moneyOperationRoutes, { name: 'money-operation-routes', dependencies: ['auth'] });
