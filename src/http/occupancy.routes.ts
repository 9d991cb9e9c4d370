import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { findDormitory } from '../db/dormitory.repository.ts';
import { occupancyHistory, openOccupancyOf } from '../db/occupancy.repository.ts';
import { listSettlements } from '../db/settlement.repository.ts';
import { DomainError } from '../errors.ts';
import { roomsToFlushBeforeCheckIn } from '../services/late-quota.service.ts';
import { checkIn, checkOut, exchange, runOccupancyChange, swap, type LiveAccounts, type OccupancyChange } from '../services/occupancy.service.ts';
import { assertCanRead } from './auth.plugin.ts';
import { ErrorResponses } from './error-schemas.ts';
import { LocalDate, OccupancyChangeSchema, OccupancySchema, SettlementSchema, StudentId } from './office-schemas.ts';

const DormitoryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const StudentParams = Type.Object({ id: StudentId });
const Bed = Type.Integer({ minimum: 1, maximum: 64, description: 'omitted: the lowest free bed' });
const CheckInBody = Type.Object({ studentId: StudentId, bed: Type.Optional(Bed), date: Type.Optional(LocalDate) }, { additionalProperties: false });
const ExchangeBody = Type.Object({ toDormitoryId: Type.String({ minLength: 1, maxLength: 100 }), bed: Type.Optional(Bed) }, { additionalProperties: false });
const SwapBody = Type.Object({ withStudentId: StudentId }, { additionalProperties: false });
const CheckOutBody = Type.Object({ date: Type.Optional(LocalDate) }, { additionalProperties: false });
const SettlementQuery = Type.Object(
  {
    studentId: Type.Optional(StudentId),
    dormitoryId: Type.Optional(Type.String({ maxLength: 100 })),
    direction: Type.Optional(Type.Union([Type.Literal('refund'), Type.Literal('charge'), Type.Literal('none')])),
    page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

const view = (c: OccupancyChange) => ({ studentId: c.student, closed: c.closed, opened: c.opened, settlements: c.settlements });

/**
 * Check-in, exchange, swap and check-out over REST: thin wrappers of occupancy.service.ts.
 * A leaving student is settled in the same transaction; the refund or charge reaches the live
 * dormitory actor after the commit.
 */
async function occupancyRoutes(app: FastifyInstance, options: { context: AppContext; live?: LiveAccounts }): Promise<void> {
  const { db, clock } = options.context;
  const office = app.requireRole('admin', 'manager');
  const deps = { clock };
  const currentRoom = async (studentId: string) => (await openOccupancyOf(db, studentId))?.dormitoryId;

  app.post(
    '/api/dormitories/:id/check-ins',
    { preHandler: office, schema: { tags: ['occupancy'], summary: 'Check a student in (capacity and beds enforced)', params: DormitoryParams, body: CheckInBody, response: { 201: OccupancyChangeSchema, ...ErrorResponses } } },
    async (request, reply) => {
      const { id } = request.params as Static<typeof DormitoryParams>;
      const body = request.body as Static<typeof CheckInBody>;
      const flush = options.live ? await roomsToFlushBeforeCheckIn(db, [id]) : [];
      const change = await runOccupancyChange(db, options.live, flush, (trx) => checkIn(trx, deps, { studentId: body.studentId, dormitoryId: id, bed: body.bed, date: body.date, operator: request.operator!.username }));
      return reply.status(201).send(view(change));
    },
  );

  app.post(
    '/api/students/:id/check-out',
    { preHandler: office, schema: { tags: ['occupancy'], summary: 'Check a student out and settle their share', params: StudentParams, body: CheckOutBody, response: { 200: OccupancyChangeSchema, ...ErrorResponses } } },
    async (request) => {
      const { id } = request.params as Static<typeof StudentParams>;
      const body = (request.body ?? {}) as Static<typeof CheckOutBody>;
      const room = await currentRoom(id);
      const change = await runOccupancyChange(db, options.live, room ? [room] : [], (trx) => checkOut(trx, deps, { studentId: id, date: body.date, operator: request.operator!.username }));
      return view(change);
    },
  );

  app.post(
    '/api/students/:id/exchange',
    { preHandler: office, schema: { tags: ['occupancy'], summary: 'Move a student to another dormitory today (settled in the old one)', params: StudentParams, body: ExchangeBody, response: { 200: OccupancyChangeSchema, ...ErrorResponses } } },
    async (request) => {
      const { id } = request.params as Static<typeof StudentParams>;
      const body = request.body as Static<typeof ExchangeBody>;
      const room = await currentRoom(id);
      const change = await runOccupancyChange(db, options.live, room ? [room] : [], (trx) =>
        exchange(trx, deps, { studentId: id, toDormitoryId: body.toDormitoryId, bed: body.bed, operator: request.operator!.username }),
      );
      return view(change);
    },
  );

  app.post(
    '/api/students/:id/swap',
    {
      preHandler: office,
      schema: { tags: ['occupancy'], summary: 'Two students in different dormitories trade places and beds today (both settled)', params: StudentParams, body: SwapBody, response: { 200: Type.Object({ changes: Type.Array(OccupancyChangeSchema) }), ...ErrorResponses } },
    },
    async (request) => {
      const { id } = request.params as Static<typeof StudentParams>;
      const body = request.body as Static<typeof SwapBody>;
      const rooms = [await currentRoom(id), await currentRoom(body.withStudentId)].filter((r) => r !== undefined);
      const changes = await runOccupancyChange(db, options.live, rooms, (trx) => swap(trx, deps, { studentId: id, withStudentId: body.withStudentId, operator: request.operator!.username }));
      return { changes: changes.map(view) };
    },
  );

  app.get(
    '/api/dormitories/:id/occupancies',
    {
      preHandler: app.requireRole('admin', 'manager', 'finance', 'student'),
      schema: { tags: ['occupancy'], summary: 'Occupancy history of a dormitory, newest first', params: DormitoryParams, response: { 200: Type.Object({ items: Type.Array(OccupancySchema) }), ...ErrorResponses } },
    },
    async (request) => {
      const { id } = request.params as Static<typeof DormitoryParams>;
      assertCanRead(request.operator, id);
      if (!(await findDormitory(db, id))) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`);
      return { items: await occupancyHistory(db, { dormitoryId: id }) };
    },
  );

  app.get(
    '/api/settlements',
    {
      preHandler: app.requireRole('admin', 'manager', 'finance'),
      schema: { tags: ['occupancy'], summary: 'Settlements of leaving students (refunds to pay out, charges to collect)', querystring: SettlementQuery, response: { 200: Type.Object({ items: Type.Array(SettlementSchema), total: Type.Integer() }), ...ErrorResponses } },
    },
    async (request) => {
      const q = request.query as Static<typeof SettlementQuery>;
      return listSettlements(db, { studentId: q.studentId, dormitoryId: q.dormitoryId, direction: q.direction, page: q.page ?? 1, pageSize: q.pageSize ?? 50 });
    },
  );
}

export default fp(occupancyRoutes, { name: 'occupancy-routes', dependencies: ['auth'] });
