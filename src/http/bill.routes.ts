import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { billTable } from '../services/bill-export.ts';
import { billsReport, everyBill } from '../services/monthly-bill.service.ts';
import { ErrorResponses } from './error-schemas.ts';
import { Format, sendTable } from './report.routes.ts';

const BillQuery = Type.Object(
  {
    month: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}$', description: "a local month on the campus's clock, YYYY-MM" })),
    dormitory: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    building: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "the previous page's `next`" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'bills in this page (exports carry every bill)' })),
    format: Format,
  },
  { additionalProperties: false },
);
const Money = Type.Integer({ description: 'fen' });
const Bill = Type.Object({
  month: Type.String(),
  dormitoryId: Type.String(),
  buildingId: Type.String(),
  campusId: Type.String(),
  purse: Type.Union([Type.Literal('electricity'), Type.Literal('water')]),
  from: Type.String(),
  to: Type.String(),
  opening: Money,
  recharges: Money,
  charges: Type.Integer({ description: 'consumption charged (positive)' }),
  refunds: Type.Integer({ description: 'refunded out of the purse (positive)' }),
  adjustments: Money,
  settlements: Money,
  closing: Type.Integer({ description: 'opening + recharges - charges - refunds + adjustments + settlements' }),
  usage: Type.Integer({ description: 'Wh or litres charged in the month' }),
  quotaGranted: Type.Integer(),
  quotaUsed: Type.Integer(),
  periods: Type.Array(Type.Object({ label: Type.String(), rate: Type.Integer({ description: 'milli-fen per kWh or m3' }), version: Type.Union([Type.Integer(), Type.Null()]), usage: Type.Integer() })),
  settlementPolicy: Type.String(),
  shares: Type.Array(
    Type.Object({
      studentId: Type.String(),
      occupancyId: Type.Integer(),
      days: Type.Integer(),
      contributionsFen: Money,
      consumptionShareFen: Money,
      sharedCreditShareFen: Money,
      equityFen: Money,
    }),
  ),
  generatedAt: Type.String(),
});
const Bills = Type.Object({ rows: Type.Array(Bill), next: Type.Union([Type.String(), Type.Null()]) });

/** Monthly bills (docs/reports.md): written at each month end; read here by finance. */
async function billRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  app.get(
    '/api/reports/bills',
    {
      preHandler: app.requireRole('admin', 'finance'),
      schema: { tags: ['reports'], summary: 'Monthly bills per dormitory purse: opening, quota, usage by tariff period and tier, money movements, closing, occupant shares', querystring: BillQuery, response: { 200: Bills, ...ErrorResponses } },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof BillQuery>;
      if (query.format === 'csv' || query.format === 'xlsx') return sendTable(reply, query.format, billTable(everyBill(options.context.db, query)), `bills${query.month ? `-${query.month}` : ''}`);
      return billsReport(options.context.db, query);
    },
  );
}

export default fp(billRoutes, { name: 'bill-routes', dependencies: ['auth'] });
