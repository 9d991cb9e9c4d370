import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { Role } from '../db/database.ts';
import { findOperatorCredentials, findSessionOperator, insertSession, type Operator } from '../db/operator.repository.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { verifyPassword } from '../domain/password.ts';
import { DomainError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    operator: Operator | undefined;
  }
  interface FastifyInstance {
    /** preHandler: the request must carry a session of one of these roles. */
    requireRole(...roles: Role[]): preHandlerAsyncHookHandler;
  }
}

export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

/**
 * Bearer-token sessions. Tokens are 32 random bytes; only their SHA-256 is stored, with an
 * expiry. Roles: admin, manager, finance, student (read-only, own dormitory).
 */
async function authPlugin(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  // Sessions live on wall-clock time, never on the (possibly simulated, jumping) domain clock.
  const { db, config } = options.context;
  const wallClock = { now: () => Date.now() };
  app.decorateRequest('operator', undefined);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) return;
    const token = header.slice(7).trim();
    if (!token) return;
    request.operator = await findSessionOperator(db, tokenHash(token), new Date(wallClock.now()));
  });

  app.decorate('requireRole', (...roles: Role[]): preHandlerAsyncHookHandler => {
    return async (request: FastifyRequest, _reply: FastifyReply) => {
      if (!request.operator) throw new DomainError('UNAUTHENTICATED', 'a valid bearer token is required');
      if (!roles.includes(request.operator.role)) {
        throw new DomainError('FORBIDDEN', `role ${request.operator.role} may not do this (needs ${roles.join(' or ')})`);
      }
    };
  });

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a username and password for a bearer token',
        body: LoginBody,
        response: { 200: Type.Object({ token: Type.String(), role: Type.String(), expiresAt: Type.String() }) },
      },
    },
    async (request) => {
      const { username, password } = request.body as { username: string; password: string };
      const found = await findOperatorCredentials(db, username);
      const ok = found && !found.disabled && (await verifyPassword(password, found.password_hash));
      if (!ok || !found) throw new DomainError('INVALID_CREDENTIALS', 'unknown user or wrong password');
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(wallClock.now() + config.sessionTtlHours * 3_600_000);
      await insertSession(db, tokenHash(token), found.id, expiresAt);
      await appendAudit(db, { operator: found.username, action: 'login', targetType: 'operator', targetId: String(found.id) });
      return { token, role: found.role, expiresAt: expiresAt.toISOString() };
    },
  );
}

export default fp(authPlugin, { name: 'auth', dependencies: ['error-handler'] });

/** A student may only see their own dormitory. */
export function assertCanRead(operator: Operator | undefined, dormitoryId: string): void {
  if (!operator) throw new DomainError('UNAUTHENTICATED', 'a valid bearer token is required');
  if (operator.role === 'student' && operator.dormitoryId !== dormitoryId) {
    throw new DomainError('FORBIDDEN', 'students may only read their own dormitory');
  }
}
