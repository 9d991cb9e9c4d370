import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { findAlarm, listAlarms, markAlarmReleased, type AlarmView } from '../db/alarm.repository.ts';
import { DomainError } from '../errors.ts';
import { pagination, RowId } from './schema-bounds.ts';

const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('released'), Type.Literal('cleared')])),
    dormitory: Type.Optional(Type.String({ maxLength: 100 })),
    ...pagination(),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: RowId() });

/** Told when an operator releases an alarm, so the circuit that tripped can come back. */
export interface AlarmReleaseListener {
  alarmReleased(alarm: AlarmView, operator: string): void;
}

async function alarmRoutes(app: FastifyInstance, options: { context: AppContext; releases?: AlarmReleaseListener }): Promise<void> {
  const { db, clock } = options.context;

  app.get('/api/alarms', { preHandler: app.requireRole('admin', 'manager', 'finance'), schema: { tags: ['control'], summary: 'Alarms, newest first', querystring: ListQuery } }, async (request) => {
    const q = request.query as Static<typeof ListQuery>;
    return listAlarms(db, { state: q.state, dormitoryId: q.dormitory, page: q.page ?? 1, pageSize: q.pageSize ?? 50 });
  });

  app.post(
    '/api/alarms/:id/release',
    { preHandler: app.requireRole('admin', 'manager'), schema: { tags: ['control'], summary: 'Release an active alarm (and the lock-out it holds)', params: IdParams } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const alarm = await findAlarm(db, id);
      if (!alarm) throw new DomainError('ALARM_NOT_FOUND', `alarm ${id} does not exist`);
      const operator = request.operator!.username;
      const released = await db.transaction().execute(async (trx) => {
        const ok = await markAlarmReleased(trx, id, operator, new Date(clock.now()));
        if (ok) await appendAudit(trx, { operator, action: 'alarm.release', targetType: 'alarm', targetId: String(id), details: { kind: alarm.kind, dormitoryId: alarm.dormitoryId, circuit: alarm.circuit } });
        return ok;
      });
      if (!released) throw new DomainError('ALARM_NOT_ACTIVE', `alarm ${id} is ${alarm.state}, not active`);
      options.releases?.alarmReleased(alarm, operator);
      return { ...alarm, state: 'released', releasedBy: operator };
    },
  );
}

export default fp(alarmRoutes, { name: 'alarm-routes', dependencies: ['auth'] });
