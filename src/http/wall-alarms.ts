import { listAlarms } from '../db/alarm.repository.ts';
import type { Executor } from '../db/executor.ts';

/** Critical alarms a wall's ticker names at most (the newest). */
export const WALL_ALARMS_SHOWN = 20;
/** Rooms named per alarm (a gateway outage may name a floor). */
const ROOMS_NAMED = 6;

/**
 * What a wall display's ticker shows of an active critical alarm: where (its room, or the rooms
 * of a gateway), what (the kind: the page says it in its language, public/alarm-text.js) and
 * when. No message or evidence: the server's message is English, and a wall only watches.
 */
export interface WallAlarm {
  readonly id: number;
  readonly kind: string;
  readonly dormitoryId: string | null;
  readonly gatewayId: string | null;
  readonly circuit: string | null;
  readonly rooms: readonly string[];
  readonly raisedAt: string;
}

/** The active critical alarms of the campus or one building, newest first. */
export async function wallAlarms(db: Executor, building: string | undefined): Promise<WallAlarm[]> {
  const { items } = await listAlarms(db, { state: 'active', severity: 'critical', building, page: 1, pageSize: WALL_ALARMS_SHOWN });
  return items.map((a) => ({ id: a.id, kind: a.kind, dormitoryId: a.dormitoryId, gatewayId: a.gatewayId, circuit: a.circuit, rooms: a.rooms.slice(0, ROOMS_NAMED), raisedAt: a.raisedAt }));
}

/** The feed's `{"type":"alarms"}` message to a wall display (docs/websocket.md). */
export const wallAlarmsMessage = (alarms: readonly WallAlarm[]): string => JSON.stringify({ type: 'alarms', alarms });
