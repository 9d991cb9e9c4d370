import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { listNotifications, markAllRead, markRead, unreadCount } from '../db/notification.repository.ts';
import { DomainError } from '../errors.ts';
import { ErrorResponses } from './error-schemas.ts';
import { pagination, RowId } from './schema-bounds.ts';

const ListQuery = Type.Object({ unread: Type.Optional(Type.Boolean()), ...pagination() }, { additionalProperties: false });
const IdParams = Type.Object({ id: RowId() });
const Notification = Type.Object({
  id: Type.Integer(),
  dormitoryId: Type.Union([Type.String(), Type.Null()]),
  kind: Type.String(),
  message: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.String({ format: 'date-time' }),
  readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const NotificationPage = Type.Object({ items: Type.Array(Notification), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() });

/** The in-app list: every signed-in user (student or staff) reads and marks only their own notifications. */
async function notificationRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db, clock } = options.context;
  const anyone = app.requireRole('admin', 'manager', 'finance', 'student');

  app.get(
    '/api/notifications',
    { preHandler: anyone, schema: { tags: ['notifications'], summary: 'My notifications, newest first', querystring: ListQuery, response: { 200: NotificationPage, ...ErrorResponses } } },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>;
      const page = q.page ?? 1;
      const pageSize = q.pageSize ?? 50;
      const result = await listNotifications(db, request.operator!.username, { unread: q.unread === true, page, pageSize });
      return { ...result, page, pageSize };
    },
  );

  app.get(
    '/api/notifications/unread-count',
    { preHandler: anyone, schema: { tags: ['notifications'], summary: 'How many of my notifications are unread', response: { 200: Type.Object({ unread: Type.Integer() }), ...ErrorResponses } } },
    async (request) => ({ unread: await unreadCount(db, request.operator!.username) }),
  );

  app.post(
    '/api/notifications/:id/read',
    { preHandler: anyone, schema: { tags: ['notifications'], summary: 'Mark one of my notifications read', params: IdParams, response: { 200: Notification, ...ErrorResponses } } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const view = await markRead(db, request.operator!.username, id, new Date(clock.now()));
      if (!view) throw new DomainError('NOTIFICATION_NOT_FOUND', `notification ${id} does not exist`);
      return view;
    },
  );

  app.post(
    '/api/notifications/read-all',
    { preHandler: anyone, schema: { tags: ['notifications'], summary: 'Mark all my notifications read', response: { 200: Type.Object({ marked: Type.Integer() }), ...ErrorResponses } } },
    async (request) => ({ marked: await markAllRead(db, request.operator!.username, new Date(clock.now())) }),
  );
}

export default fp(notificationRoutes, { name: 'notification-routes', dependencies: ['auth'] });
