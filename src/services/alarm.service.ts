import type { AppContext } from '../app-context.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { findAlarm, markAlarmAcknowledged, markAlarmReleased, type AlarmView } from '../db/alarm.repository.ts';
import { DomainError } from '../errors.ts';

type Deps = Pick<AppContext, 'db' | 'clock'>;

async function existing(deps: Deps, id: number): Promise<AlarmView> {
  const alarm = await findAlarm(deps.db, id);
  if (!alarm) throw new DomainError('ALARM_NOT_FOUND', `alarm ${id} does not exist`);
  return alarm;
}

const auditDetails = (alarm: AlarmView) => ({ kind: alarm.kind, dormitoryId: alarm.dormitoryId, gatewayId: alarm.gatewayId, circuit: alarm.circuit });

/**
 * An operator has seen an active alarm: who and when are stored and audited together; the alarm
 * stays active (and keeps any lock-out) until it is released or clears. Acknowledging twice
 * answers the first acknowledgement and writes nothing.
 */
export async function acknowledgeAlarm(deps: Deps, id: number, operator: string): Promise<AlarmView> {
  const alarm = await existing(deps, id);
  if (alarm.state !== 'active') throw new DomainError('ALARM_NOT_ACTIVE', `alarm ${id} is ${alarm.state}, not active`);
  await deps.db.transaction().execute(async (trx) => {
    if (await markAlarmAcknowledged(trx, id, operator, new Date(deps.clock.now()))) {
      await appendAudit(trx, { operator, action: 'alarm.acknowledge', targetType: 'alarm', targetId: String(id), details: auditDetails(alarm) });
    }
  });
  const after = await existing(deps, id);
  if (after.state !== 'active') throw new DomainError('ALARM_NOT_ACTIVE', `alarm ${id} is ${after.state}, not active`);
  return after;
}

/**
 * An operator releases an active alarm (and the lock-out it holds) with a reason; the release
 * and its audit record (with the reason) commit together. The caller tells the actors.
 */
export async function releaseAlarm(deps: Deps, id: number, operator: string, reason: string): Promise<AlarmView> {
  const alarm = await existing(deps, id);
  const released = await deps.db.transaction().execute(async (trx) => {
    const ok = await markAlarmReleased(trx, id, operator, new Date(deps.clock.now()));
    if (ok) await appendAudit(trx, { operator, action: 'alarm.release', targetType: 'alarm', targetId: String(id), details: { ...auditDetails(alarm), reason } });
    return ok;
  });
  const after = await existing(deps, id);
  // A loser of a concurrent release is told the state it lost to, not the one it read before.
  if (!released) throw new DomainError('ALARM_NOT_ACTIVE', `alarm ${id} is ${after.state}, not active`);
  return after;
}
