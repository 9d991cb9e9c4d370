import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { auditLog } from '../services/audit-log.service.ts';
import { ErrorResponses } from './error-schemas.ts';

const Name = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 128, description }));
const AuditQuery = Type.Object(
  {
    actor: Name('who: an operator, a student, or `system`'),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+\\*?$', description: 'an action (`refund`, `alarm.release`), or a prefix ending in * (`alarm.*`)' })),
    dormitory: Name('the dormitory, its meters, circuits and alarms'),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'records at or after this instant' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'records before this instant' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "the previous page's `next`" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);
const AuditPage = Type.Object({
  rows: Type.Array(
    Type.Object({
      id: Type.Integer(),
      occurredAt: Type.String(),
      actor: Type.String(),
      action: Type.String(),
      targetType: Type.String(),
      targetId: Type.String(),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  next: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next (older) page; null on the last' }),
});

/**
 * The audit log, for admins only: it oversees every staff role (managers and finance included)
 * and holds security records (failed logins with their addresses, password resets); the other
 * roles read their own domain's history in the journals (docs/reports.md).
 */
async function auditRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  app.get(
    '/api/audit',
    { preHandler: app.requireRole('admin'), schema: { tags: ['reports'], summary: 'The audit log, newest first: who did what to what, by actor, action, dormitory and time', querystring: AuditQuery, response: { 200: AuditPage, ...ErrorResponses } } },
    async (request) => auditLog(options.context.db, request.query as Static<typeof AuditQuery>),
  );
}

export default fp(auditRoutes, { name: 'audit-routes', dependencies: ['auth'] });
