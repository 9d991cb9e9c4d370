import { createHash, randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler, preHandlerAsyncHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { Role } from '../db/database.ts';
import { findOperatorCredentials, findSessionOperator, insertSession, updatePasswordHash, type Operator } from '../db/operator.repository.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { hashPassword, needsRehash, randomPassword, scryptCost, verifyPassword, type ScryptCost } from '../domain/password.ts';
import { DomainError } from '../errors.ts';
import { SessionEndings } from './session-endings.ts';

declare module 'fastify' {
  interface FastifyRequest {
    operator: Operator | undefined;
    /** SHA-256 of the bearer token the request's session was found by. */
    sessionTokenHash: string | undefined;
  }
  interface FastifyInstance {
    /**
     * The request must carry a session of one of these roles. Given as a route's `preHandler`,
     * it is moved to the route's `onRequest` (see `hoistRoleChecks`), so an anonymous or
     * wrong-role caller is refused before the body is read or validated.
     */
    requireRole(...roles: Role[]): preHandlerAsyncHookHandler;
    /** Routes that delete sessions notify here after committing (src/http/session-endings.ts). */
    sessionEndings: SessionEndings;
  }
}

export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

/** Marks the handlers `requireRole` makes, with their roles. */
const ROLES = Symbol('roles');
type RoleCheck = preHandlerAsyncHookHandler & { [ROLES]: readonly Role[] };
const isRoleCheck = (hook: unknown): hook is RoleCheck => typeof hook === 'function' && ROLES in hook;

/**
 * Moves `requireRole` checks from a route's preHandler to its onRequest (after the session
 * lookup, which is an instance-level onRequest hook and so runs first), and writes the roles
 * into the route's OpenAPI operation as `x-roles`, which the route-role test reads.
 */
function hoistRoleChecks(route: RouteOptions): void {
  const pre = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
  const checks = pre.filter(isRoleCheck);
  if (checks.length === 0) return;
  route.preHandler = pre.filter((hook) => !isRoleCheck(hook));
  const on = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
  route.onRequest = [...checks.map((check) => check as unknown as onRequestAsyncHookHandler), ...on];
  route.schema = { ...route.schema, 'x-roles': checks.flatMap((check) => check[ROLES]) } as RouteOptions['schema'];
}

/**
 * Bearer-token sessions. Tokens are 32 random bytes; only their SHA-256 is stored, with an
 * expiry. Roles: admin, manager, finance, student (read-only, own dormitory).
 *
 * Login is rate-limited per client address (before the body is read) and per username (429
 * with Retry-After); an unknown username costs the same scrypt work as a known one (a dummy
 * hash at the current cost); every failure is audited; a hash made at an older cost is
 * replaced at the next successful login.
 */
async function authPlugin(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  // Sessions live on wall-clock time, never on the (possibly simulated, jumping) domain clock.
  const { db, config } = options.context;
  const wallClock = { now: () => Date.now() };
  const cost: ScryptCost = scryptCost(config.passwordScryptLog2N);
  let dummyHash: Promise<string> | undefined;
  app.decorateRequest('operator', undefined);
  app.decorateRequest('sessionTokenHash', undefined);
  app.decorate('sessionEndings', new SessionEndings());
  app.addHook('onRoute', hoistRoleChecks);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) return;
    const token = header.slice(7).trim();
    if (!token) return;
    const hash = tokenHash(token);
    request.operator = await findSessionOperator(db, hash, new Date(wallClock.now()));
    if (request.operator) request.sessionTokenHash = hash;
  });

  app.decorate('requireRole', (...roles: Role[]): preHandlerAsyncHookHandler => {
    const check = async (request: FastifyRequest, _reply: FastifyReply) => {
      if (!request.operator) throw new DomainError('UNAUTHENTICATED', 'a valid bearer token is required');
      if (!roles.includes(request.operator.role)) {
        throw new DomainError('FORBIDDEN', `role ${request.operator.role} may not do this (needs ${roles.join(' or ')})`);
      }
    };
    return Object.assign(check, { [ROLES]: roles });
  });

  await app.register(rateLimit, { global: false });
  const limiter = (max: number, keyOf: (request: FastifyRequest) => string) => app.createRateLimit({ max, timeWindow: config.loginRateWindowMs, keyGenerator: keyOf });
  const perAddress = limiter(config.loginRateLimitPerAddress, (request) => `address:${request.ip}`);
  const perUsername = limiter(config.loginRateLimitPerUsername, (request) => `username:${(request.body as { username: string }).username.toLowerCase()}`);
  const enforce = (limit: typeof perAddress, field: string | undefined) => async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await limit(request);
    if (result.isAllowed || !result.isExceeded) return;
    void reply.header('retry-after', String(Math.max(1, result.ttlInSeconds)));
    // Logged, not audited: a flood of refused attempts must not flood the audit log too.
    request.log.warn({ address: request.ip, limit: field ?? 'address' }, 'login rate limit exceeded');
    throw new DomainError('RATE_LIMITED', `too many login attempts; retry in ${result.ttlInSeconds} s`, field);
  };

  app.post(
    '/api/auth/login',
    {
      onRequest: enforce(perAddress, undefined),
      preHandler: enforce(perUsername, 'username'),
      schema: {
        tags: ['auth'],
        summary: 'Exchange a username and password for a bearer token (rate-limited per address and per username)',
        body: LoginBody,
        response: { 200: Type.Object({ token: Type.String(), role: Type.String(), expiresAt: Type.String() }) },
      },
    },
    async (request) => {
      const { username, password } = request.body as { username: string; password: string };
      const found = await findOperatorCredentials(db, username);
      // Unknown or disabled users cost a verification too: the answer time does not tell who exists.
      const stored = found && !found.disabled ? found.password_hash : await (dummyHash ??= hashPassword(randomPassword(), cost));
      const matches = await verifyPassword(password, stored);
      if (!matches || !found || found.disabled) {
        const reason = !found ? 'unknown_user' : found.disabled ? 'disabled' : 'wrong_password';
        await appendAudit(db, { operator: username, action: 'login.failed', targetType: 'operator', targetId: found ? String(found.id) : username, details: { reason, address: request.ip } });
        throw new DomainError('INVALID_CREDENTIALS', 'unknown user or wrong password');
      }
      if (needsRehash(found.password_hash, cost)) {
        await updatePasswordHash(db, found.id, await hashPassword(password, cost));
        await appendAudit(db, { operator: found.username, action: 'password.rehash', targetType: 'operator', targetId: String(found.id), details: { log2N: cost.log2N } });
      }
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(wallClock.now() + config.sessionTtlHours * 3_600_000);
      await insertSession(db, tokenHash(token), found.id, expiresAt);
      await appendAudit(db, { operator: found.username, action: 'login', targetType: 'operator', targetId: String(found.id), details: { address: request.ip } });
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
