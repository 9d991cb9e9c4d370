import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { findUserAccount, listUserAccounts } from '../db/operator.repository.ts';
import { PASSWORD_MAX_LENGTH } from '../domain/password-policy.ts';
import { DomainError } from '../errors.ts';
import { changeOwnPassword, createUser, resetPassword, updateUser } from '../services/user.service.ts';
import { tokenHash } from './auth.plugin.ts';
import { ErrorResponses } from './error-schemas.ts';

export const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$' });
const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('manager'), Type.Literal('finance'), Type.Literal('student')]);
const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, description: 'at least 10 characters, not the username' });
const DisplayName = Type.String({ minLength: 1, maxLength: 100 });

const User = Type.Object({
  username: Type.String(),
  role: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Boolean(),
  dormitoryId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
const CreateBody = Type.Object(
  { username: Username, password: Type.Optional(Password), role: RoleSchema, displayName: Type.Optional(DisplayName) },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  { role: Type.Optional(RoleSchema), displayName: Type.Optional(Type.Union([DisplayName, Type.Null()])), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const ResetBody = Type.Object({ password: Type.Optional(Password) }, { additionalProperties: false });
const OwnBody = Type.Object({ current: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }), new: Password }, { additionalProperties: false });
const UserParams = Type.Object({ username: Username });
const ListQuery = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);
const Created = Type.Object({ user: User, password: Type.Optional(Type.String({ description: 'only when generated: shown once, never stored in clear' })) });

/**
 * User administration (admin) and a user's own password change. Every change is audited in the
 * transaction that makes it; disabling a user or resetting a password ends their sessions at
 * once (sessions are looked up per request, so the next request is refused).
 */
async function userRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db } = options.context;
  const admin = app.requireRole('admin');

  app.post(
    '/api/users',
    { preHandler: admin, schema: { tags: ['users'], summary: 'Create a staff user (admin, manager, finance)', body: CreateBody, response: { 201: Created, ...ErrorResponses } } },
    async (request, reply) => {
      const body = request.body as Static<typeof CreateBody>;
      const result = await db.transaction().execute((trx) => createUser(trx, body, request.operator!.username));
      return reply.status(201).send({ user: result.user, ...(result.generatedPassword ? { password: result.generatedPassword } : {}) });
    },
  );

  app.get(
    '/api/users',
    { preHandler: admin, schema: { tags: ['users'], summary: 'List users', querystring: ListQuery, response: { 200: Type.Object({ items: Type.Array(User), total: Type.Integer() }), ...ErrorResponses } } },
    async (request) => {
      const query = request.query as Static<typeof ListQuery>;
      return listUserAccounts(db, { role: query.role, page: query.page ?? 1, pageSize: query.pageSize ?? 50 });
    },
  );

  app.get(
    '/api/users/:username',
    { preHandler: admin, schema: { tags: ['users'], summary: 'One user', params: UserParams, response: { 200: User, ...ErrorResponses } } },
    async (request) => {
      const { username } = request.params as Static<typeof UserParams>;
      const user = await findUserAccount(db, username);
      if (!user) throw new DomainError('USER_NOT_FOUND', `user ${username} does not exist`);
      return user;
    },
  );

  app.patch(
    '/api/users/:username',
    {
      preHandler: admin,
      schema: { tags: ['users'], summary: 'Change role, display name or disabled (disabling ends the sessions at once)', params: UserParams, body: PatchBody, response: { 200: User, ...ErrorResponses } },
    },
    async (request) => {
      const { username } = request.params as Static<typeof UserParams>;
      const body = request.body as Static<typeof PatchBody>;
      const updated = await db.transaction().execute((trx) => updateUser(trx, username, body, request.operator!.username));
      app.sessionEndings.notify(); // disabled, or a new role: an open live feed must not keep the old rights
      return updated;
    },
  );

  app.post(
    '/api/users/:username/password',
    {
      preHandler: admin,
      schema: {
        tags: ['users'],
        summary: "Reset a user's password (generated and returned once when omitted); ends their sessions",
        params: UserParams,
        body: ResetBody,
        response: { 200: Type.Object({ username: Type.String(), sessionsEnded: Type.Integer(), password: Type.Optional(Type.String()) }), ...ErrorResponses },
      },
    },
    async (request) => {
      const { username } = request.params as Static<typeof UserParams>;
      const body = (request.body ?? {}) as Static<typeof ResetBody>;
      const result = await db.transaction().execute((trx) => resetPassword(trx, username, body.password, request.operator!.username));
      app.sessionEndings.notify();
      return { username, sessionsEnded: result.sessionsEnded, ...(result.generatedPassword ? { password: result.generatedPassword } : {}) };
    },
  );

  app.post(
    '/api/auth/password',
    {
      preHandler: app.requireRole('admin', 'manager', 'finance', 'student'),
      schema: {
        tags: ['auth'],
        summary: 'Change your own password (your other sessions end)',
        body: OwnBody,
        response: { 200: Type.Object({ sessionsEnded: Type.Integer() }), ...ErrorResponses },
      },
    },
    async (request) => {
      const body = request.body as Static<typeof OwnBody>;
      const header = request.headers.authorization ?? '';
      const keep = header.startsWith('Bearer ') ? tokenHash(header.slice(7).trim()) : undefined;
      const changed = await db.transaction().execute((trx) => changeOwnPassword(trx, request.operator!, body.current, body.new, keep));
      app.sessionEndings.notify();
      return changed;
    },
  );
}

export default fp(userRoutes, { name: 'user-routes', dependencies: ['auth'] });
