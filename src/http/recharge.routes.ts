import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { recharge, type CreditListener } from '../services/recharge.service.ts';

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

/** The live balance of a running dormitory's purse, read after the credit reached it. */
export interface LiveBalances {
  liveBalance(dormitoryId: string, purse: 'electricity' | 'water'): Promise<number | undefined>;
}

async function rechargeRoutes(app: FastifyInstance, options: { context: AppContext; credits?: CreditListener; balances?: LiveBalances }): Promise<void> {
  app.post(
    '/api/dormitories/:id/recharges',
    {
      preHandler: app.requireRole('admin', 'manager', 'finance'),
      schema: {
        tags: ['ledger'],
        summary: 'Recharge a purse (idempotent by reference)',
        params: Params,
        body: Body,
        response: { 200: Result, 201: Result },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof Params>;
      const body = request.body as Static<typeof Body>;
      const result = await recharge(
        options.context,
        { dormitoryId: id, purse: body.purse ?? 'electricity', amount: body.amount, method: body.method, reference: body.reference, operator: request.operator!.username, studentId: body.studentId },
        options.credits,
      );
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
