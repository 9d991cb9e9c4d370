import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { occupancyHistory } from '../db/occupancy.repository.ts';
import { listSettlements } from '../db/settlement.repository.ts';
import { findStudent, listStudents } from '../db/student.repository.ts';
import { PASSWORD_MAX_LENGTH } from '../domain/password-policy.ts';
import { DomainError } from '../errors.ts';
import { createStudent } from '../services/student.service.ts';
import { ErrorResponses } from './error-schemas.ts';
import { OccupancySchema, SettlementSchema, StudentId, StudentSchema } from './office-schemas.ts';

const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const CreateBody = Type.Object(
  {
    id: StudentId,
    name: Text(100),
    college: Text(100),
    class: Text(100),
    phone: Type.Optional(Type.String({ minLength: 3, maxLength: 32, pattern: '^[0-9+() -]+$' })),
    email: Type.Optional(Type.String({ maxLength: 200, format: 'email' })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, description: 'omitted: generated and returned once' })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 100, description: 'part of the number, name, phone or e-mail' })),
    college: Type.Optional(Type.String({ maxLength: 100 })),
    class: Type.Optional(Type.String({ maxLength: 100 })),
    dormitory: Type.Optional(Type.String({ maxLength: 100, description: 'students living in this dormitory now' })),
    page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);
const Params = Type.Object({ id: StudentId });
const StudentDetail = Type.Intersect([StudentSchema, Type.Object({ stays: Type.Array(OccupancySchema), settlements: Type.Array(SettlementSchema) })]);

/** The student register: open a student with a login, search, and read one (a student reads only themselves). */
async function studentRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db } = options.context;

  app.post(
    '/api/students',
    {
      preHandler: app.requireRole('admin', 'manager'),
      schema: {
        tags: ['students'],
        summary: 'Open a student and their login (username = student number)',
        body: CreateBody,
        response: { 201: Type.Object({ student: StudentSchema, password: Type.Optional(Type.String({ description: 'only when generated: shown once' })) }), ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof CreateBody>;
      const result = await db.transaction().execute((trx) =>
        createStudent(trx, { id: body.id, name: body.name, college: body.college, className: body.class, phone: body.phone, email: body.email, password: body.password }, request.operator!.username),
      );
      return reply.status(201).send({ student: result.student, ...(result.generatedPassword ? { password: result.generatedPassword } : {}) });
    },
  );

  app.get(
    '/api/students',
    {
      preHandler: app.requireRole('admin', 'manager', 'finance'),
      schema: { tags: ['students'], summary: 'Search students (paged)', querystring: ListQuery, response: { 200: Type.Object({ items: Type.Array(StudentSchema), total: Type.Integer() }), ...ErrorResponses } },
    },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>;
      return listStudents(db, { q: q.q, college: q.college, className: q.class, dormitoryId: q.dormitory, page: q.page ?? 1, pageSize: q.pageSize ?? 50 });
    },
  );

  app.get(
    '/api/students/:id',
    {
      preHandler: app.requireRole('admin', 'manager', 'finance', 'student'),
      schema: { tags: ['students'], summary: 'One student with their stays and settlements', params: Params, response: { 200: StudentDetail, ...ErrorResponses } },
    },
    async (request) => {
      const { id } = request.params as Static<typeof Params>;
      const operator = request.operator!;
      if (operator.role === 'student' && operator.username !== id) throw new DomainError('FORBIDDEN', 'students may only read their own record');
      const student = await findStudent(db, id);
      if (!student) throw new DomainError('STUDENT_NOT_FOUND', `student ${id} does not exist`);
      const [stays, settlements] = await Promise.all([occupancyHistory(db, { studentId: id }), listSettlements(db, { studentId: id, page: 1, pageSize: 500 })]);
      return { ...student, stays, settlements: settlements.items };
    },
  );
}

export default fp(studentRoutes, { name: 'student-routes', dependencies: ['auth'] });
