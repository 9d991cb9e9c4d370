import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { deleteSession, deleteSessionsOf, findOperatorByUsername } from '../db/operator.repository.ts';
import { DomainError } from '../errors.ts';

const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 100 }) });

/** Ending sessions: one's own (logout) and, for an admin, every session of a user. */
async function sessionRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db } = options.context;

  app.post(
    '/api/auth/logout',
    { preHandler: app.requireRole('admin', 'manager', 'finance', 'student'), schema: { tags: ['auth'], summary: 'Revoke the bearer token of this request' } },
    async (request, reply) => {
      const operator = request.operator!;
      await db.transaction().execute(async (trx) => {
        await deleteSession(trx, request.sessionTokenHash!);
        await appendAudit(trx, { operator: operator.username, action: 'logout', targetType: 'operator', targetId: String(operator.id) });
      });
      app.sessionEndings.notify();
      return reply.status(204).send();
    },
  );

  app.delete(
    '/api/users/:username/sessions',
    { preHandler: app.requireRole('admin'), schema: { tags: ['auth'], summary: "Revoke every session of a user (their tokens stop working at once)", params: UsernameParams } },
    async (request) => {
      const { username } = request.params as Static<typeof UsernameParams>;
      const target = await findOperatorByUsername(db, username);
      if (!target) throw new DomainError('OPERATOR_NOT_FOUND', `user ${username} does not exist`, 'username');
      const revoked = await db.transaction().execute(async (trx) => {
        const count = await deleteSessionsOf(trx, target.id);
        await appendAudit(trx, { operator: request.operator!.username, action: 'sessions.revoke', targetType: 'operator', targetId: String(target.id), details: { username, revoked: count } });
        return count;
      });
      app.sessionEndings.notify();
      return { username, revoked };
    },
  );
}

export default fp(sessionRoutes, { name: 'session-routes', dependencies: ['auth'] });
