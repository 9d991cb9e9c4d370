import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { CreditListener } from '../services/recharge.service.ts';
import { requestRecharge } from '../services/recharge-approval.service.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Body = Type.Object(
  {
    amount: Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'minor units (fen)' }),
    purse: Type.Optional(Type.Union([Type.Literal('electricity'), Type.Literal('water')], { default: 'electricity' })),
    method: Type.Union([Type.Literal('cash'), Type.Literal('card'), Type.Literal('online'), Type.Literal('campus_card')]),
    reference: Type.String({ minLength: 1, maxLength: 128, description: "the payer's reference; a repeat credits nothing" }),
    studentId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the paying student (must live in the dormitory): counted as their contribution at settlement' })),
  },
  { additionalProperties: false },
);
const Result = Type.Object({
  id: Type.Integer(),
  purse: Type.String(),
  amount: Type.Integer(),
  balance: Type.Integer({ description: "the purse's balance now: live (charges not yet posted included) when its dormitory runs, else the ledger's" }),
  balanceSource: Type.Union([Type.Literal('live'), Type.Literal('ledger')], { description: 'which balance `balance` is' }),
  ledgerBalance: Type.Integer({ description: 'the committed ledger balance right after this recharge' }),
  reference: Type.String(),
});

const Pending = Type.Object({ approvalId: Type.Integer(), state: Type.Literal('pending'), purse: Type.String(), amount: Type.Integer(), reference: Type.String(), requestedBy: Type.String() });

/** The live balance of a running dormitory's purse, read after the credit reached it. */
export interface LiveBalances {
  liveBalance(dormitoryId: string, purse: 'electricity' | 'water'): Promise<number | undefined>;
}

/**
 * Crediting money is a finance (or admin) action, never a manager's. Above
 * RECHARGE_APPROVAL_THRESHOLD_FEN the answer is 202 with a pending approval that a second
 * finance user decides at POST /api/approvals/:id.
 */
async function rechargeRoutes(app: FastifyInstance, options: { context: AppContext; credits?: CreditListener; balances?: LiveBalances }): Promise<void> {
  app.post(
    '/api/dormitories/:id/recharges',
    {
      preHandler: app.requireRole('admin', 'finance'),
      schema: {
        tags: ['ledger'],
        summary: 'Recharge a purse (idempotent by reference; above the approval threshold it waits for a second finance user)',
        params: Params,
        body: Body,
        response: { 200: Result, 201: Result, 202: Pending },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof Params>;
      const body = request.body as Static<typeof Body>;
      const command = { dormitoryId: id, purse: body.purse ?? 'electricity', amount: body.amount, method: body.method, reference: body.reference, operator: request.operator!.username, studentId: body.studentId } as const;
      const result = await requestRecharge(options.context, command, options.context.config.rechargeApprovalThresholdFen, options.credits);
      if (result.kind === 'pending') {
        const a = result.approval;
        return reply.status(202).send({ approvalId: a.id, state: 'pending', purse: a.purse, amount: a.amount, reference: a.reference, requestedBy: a.requestedBy });
      }
      const r = result.recharge;
      // The dormitory handles the credit before this query (one mailbox, in order), so the live
      // balance includes it and every charge its meters have not posted to the ledger yet.
      const live = await options.balances?.liveBalance(id, r.purse).catch(() => undefined);
      return reply.status(result.created ? 201 : 200).send({
        id: r.id,
        purse: r.purse,
        amount: r.amount,
        balance: live ?? r.balance,
        balanceSource: live === undefined ? 'ledger' : 'live',
        ledgerBalance: r.balance,
        reference: r.reference,
      });
    },
  );
}

export default fp(rechargeRoutes, { name: 'recharge-routes', dependencies: ['auth'] });
