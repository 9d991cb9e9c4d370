import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { listAlarms, type AlarmView } from '../db/alarm.repository.ts';
import { acknowledgeAlarm, releaseAlarm } from '../services/alarm.service.ts';
import { pagination, RowId } from './schema-bounds.ts';

const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('released'), Type.Literal('cleared')])),
    acknowledged: Type.Optional(Type.Boolean({ description: 'true: acknowledged only; false: not yet acknowledged only' })),
    kind: Type.Optional(Type.String({ minLength: 1, maxLength: 60, description: 'e.g. malignant_load, gateway_offline' })),
    severity: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])),
    building: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "a building id: its rooms' alarms and the outages of gateways serving them" })),
    dormitory: Type.Optional(Type.String({ maxLength: 100 })),
    ...pagination(),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: RowId() });
const ReleaseBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: 'why it is released (kept in the audit log)' }) }, { additionalProperties: false });

const Alarm = Type.Object({
  id: Type.Integer(),
  dormitoryId: Type.Union([Type.String(), Type.Null()]),
  meterId: Type.Union([Type.String(), Type.Null()]),
  gatewayId: Type.Union([Type.String(), Type.Null()]),
  circuit: Type.Union([Type.String(), Type.Null()]),
  kind: Type.String(),
  severity: Type.String(),
  state: Type.Union([Type.Literal('active'), Type.Literal('released'), Type.Literal('cleared')]),
  message: Type.String(),
  evidence: Type.Array(Type.Unknown()),
  raisedAt: Type.String({ format: 'date-time' }),
  releasedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  releasedBy: Type.Union([Type.String(), Type.Null()]),
  acknowledgedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
  rooms: Type.Array(Type.String(), { description: 'its dormitory, or every room behind the gateway of an outage' }),
});
const AlarmPage = Type.Object({
  items: Type.Array(Alarm),
  total: Type.Integer({ description: 'alarms matching the filter' }),
  counts: Type.Object({ active: Type.Integer(), unacknowledged: Type.Integer(), critical: Type.Integer() }, { description: 'all active alarms, whatever the filter' }),
});

/** Told when an operator releases an alarm, so the circuit that tripped can come back. */
export interface AlarmReleaseListener {
  alarmReleased(alarm: AlarmView, operator: string): void;
}

async function alarmRoutes(app: FastifyInstance, options: { context: AppContext; releases?: AlarmReleaseListener }): Promise<void> {
  const { db } = options.context;
  const controllers = app.requireRole('admin', 'manager');

  app.get(
    '/api/alarms',
    { preHandler: app.requireRole('admin', 'manager', 'finance'), schema: { tags: ['control'], summary: 'Alarms, newest first, filtered and paged', querystring: ListQuery, response: { 200: AlarmPage } } },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>;
      return listAlarms(db, { state: q.state, acknowledged: q.acknowledged, kind: q.kind, severity: q.severity, building: q.building, dormitoryId: q.dormitory, page: q.page ?? 1, pageSize: q.pageSize ?? 50 });
    },
  );

  app.post(
    '/api/alarms/:id/acknowledge',
    { preHandler: controllers, schema: { tags: ['control'], summary: 'Acknowledge an active alarm: seen, it stays active', params: IdParams, response: { 200: Alarm } } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      return acknowledgeAlarm(options.context, id, request.operator!.username);
    },
  );

  app.post(
    '/api/alarms/:id/release',
    { preHandler: controllers, schema: { tags: ['control'], summary: 'Release an active alarm (and the lock-out it holds), with a reason for the audit', params: IdParams, body: ReleaseBody, response: { 200: Alarm } } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const { reason } = request.body as Static<typeof ReleaseBody>;
      const operator = request.operator!.username;
      const released = await releaseAlarm(options.context, id, operator, reason.trim());
      options.releases?.alarmReleased(released, operator);
      return released;
    },
  );
}

export default fp(alarmRoutes, { name: 'alarm-routes', dependencies: ['auth'] });
