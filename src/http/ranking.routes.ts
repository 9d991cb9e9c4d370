import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { arrearsTable, topConsumersTable, zeroUseTable } from '../services/ranking-export.ts';
import { arrearsReport, everyArrears, everyZeroUse, topConsumersReport, ZERO_USE_MAX_DAYS, zeroUseReport } from '../services/ranking-report.service.ts';
import { ErrorResponses } from './error-schemas.ts';
import { Format, sendReport, sendTable } from './report.routes.ts';

/** Ranked lists and the arrears list (docs/reports.md): JSON one page at a time, exports every row. */
const Purse = Type.Union([Type.Literal('electricity'), Type.Literal('water')]);
const Instant = (description: string) => Type.Optional(Type.String({ format: 'date-time', description }));
const Range = {
  from: Instant('default: to minus 7 days'),
  to: Instant('default: now'),
  building: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'only this building' })),
};
const Paging = {
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "the previous page's `next`" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'rows in this page (exports carry every row)' })),
};
const TopQuery = Type.Object({ ...Range, purse: Type.Optional(Purse), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20 })), format: Format }, { additionalProperties: false });
const ZeroUseQuery = Type.Object({ ...Range, from: Instant(`default: to minus 7 days; at most ${ZERO_USE_MAX_DAYS} days before to`), ...Paging, format: Format }, { additionalProperties: false });
const ArrearsQuery = Type.Object({ purse: Type.Optional(Purse), building: Range.building, ...Paging, format: Format }, { additionalProperties: false });

const Place = { dormitoryId: Type.String(), buildingId: Type.String(), floor: Type.Integer(), room: Type.String() };
const Instants = Type.Union([Type.String(), Type.Null()]);
const TopConsumers = Type.Object({
  purse: Purse,
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(Type.Object({ rank: Type.Integer(), ...Place, usage: Type.Integer({ description: 'Wh (electricity) or litres (water) recorded in the range' }), costFen: Type.Integer({ description: 'consumption charged in the range' }) })),
});
const Next = Type.Union([Type.String(), Type.Null()], { description: 'pass as `after` for the next page; null on the last' });
const ZeroUse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(Type.Object({ ...Place, occupants: Type.Integer({ description: 'students who stayed throughout the range' }), lastUseAt: Instants })),
  next: Next,
});
const Arrears = Type.Object({
  rows: Type.Array(
    Type.Object({
      ...Place,
      purse: Purse,
      balanceFen: Type.Integer(),
      belowZeroSince: Instants,
      cut: Type.Boolean({ description: 'cut for arrears (stays cut until a recharge reaches the restore threshold)' }),
      cutSince: Instants,
    }),
  ),
  next: Next,
});

async function rankingRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db, clock } = options.context;
  app.get(
    '/api/reports/top-consumers',
    {
      preHandler: app.requireRole('admin', 'finance', 'manager'),
      schema: { tags: ['reports'], summary: 'The dormitories that used the most of a purse in a range, most first', querystring: TopQuery, response: { 200: TopConsumers, ...ErrorResponses } },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof TopQuery>;
      return sendReport(reply, query.format, await topConsumersReport(db, clock, query), topConsumersTable, `top-consumers-${query.purse ?? 'electricity'}`);
    },
  );
  app.get(
    '/api/reports/zero-use',
    {
      preHandler: app.requireRole('admin', 'finance', 'manager'),
      schema: { tags: ['reports'], summary: 'Dormitories occupied throughout a range whose meters recorded no electricity in it', querystring: ZeroUseQuery, response: { 200: ZeroUse, ...ErrorResponses } },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof ZeroUseQuery>;
      if (query.format === 'csv' || query.format === 'xlsx') return sendTable(reply, query.format, zeroUseTable(everyZeroUse(db, clock, query)), 'zero-use');
      return zeroUseReport(db, clock, query);
    },
  );
  app.get(
    '/api/reports/arrears',
    {
      preHandler: app.requireRole('admin', 'finance'),
      schema: { tags: ['reports'], summary: 'Purses below zero or cut for arrears, most owed first, with the amount and since when', querystring: ArrearsQuery, response: { 200: Arrears, ...ErrorResponses } },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof ArrearsQuery>;
      if (query.format === 'csv' || query.format === 'xlsx') return sendTable(reply, query.format, arrearsTable(everyArrears(db, query)), 'arrears');
      return arrearsReport(db, query);
    },
  );
}

export default fp(rankingRoutes, { name: 'ranking-routes', dependencies: ['auth'] });
