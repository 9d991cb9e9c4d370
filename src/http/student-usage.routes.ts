import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { DomainError } from '../errors.ts';
import { MAX_USAGE_DAYS, studentUsage } from '../services/student-usage.service.ts';
import { ErrorResponses } from './error-schemas.ts';

const Query = Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_USAGE_DAYS, default: 14, description: 'local days, today included' })) }, { additionalProperties: false });
const Nullable = (schema: ReturnType<typeof Type.Integer>) => Type.Union([schema, Type.Null()]);
const Day = Type.Object({ start: Type.String({ format: 'date-time' }), energyWh: Type.Integer(), costFen: Nullable(Type.Integer()), peakW: Type.Integer(), waterL: Nullable(Type.Integer()), waterCostFen: Nullable(Type.Integer()) });
const Usage = Type.Object({
  dormitoryId: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  timeZone: Type.String({ description: "the campus's IANA zone the days are cut on" }),
  days: Type.Array(Day),
  circuits: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), energyWh: Type.Array(Type.Integer(), { description: 'Wh per day, aligned with days' }) })),
});

/** A student's own room by day (docs/reports.md, "A student's own usage"): the usage report, scoped by the session. */
async function studentUsageRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db, clock } = options.context;
  app.get(
    '/api/me/usage',
    { preHandler: app.requireRole('student'), schema: { tags: ['reports'], summary: 'My room’s usage by day (kWh, water, money, per circuit)', querystring: Query, response: { 200: Usage, ...ErrorResponses } } },
    async (request) => {
      const dormitoryId = request.operator!.dormitoryId;
      // There is no dormitory parameter to forge: the session says whose room it is.
      if (!dormitoryId) throw new DomainError('NOT_CHECKED_IN', 'this account has no room');
      return studentUsage(db, clock, dormitoryId, (request.query as Static<typeof Query>).days ?? 14);
    },
  );
}

export default fp(studentUsageRoutes, { name: 'student-usage-routes', dependencies: ['auth'] });
