import type { MeterProfileName } from '../drivers/gateway-driver.ts';
import type { Executor } from './executor.ts';
import { circuitControlKey, meterControlKey } from '../domain/control-state.ts';

/**
 * What is installed where: dormitories, their meters (and a 1-in-3-out meter's circuits) and the
 * gateways that reach them, as the topology API adds and removes them. The actors boot from
 * these rows (topology.repository.ts); a caller changes them in one transaction and then
 * reloads the live tree.
 */

export interface NewDormitory {
  readonly id: string;
  readonly buildingId: string;
  readonly floor: number;
  readonly room: string;
  readonly capacity: number;
  readonly tags: readonly string[];
  readonly electricityTariffId: string | null;
  readonly waterTariffId: string | null;
  readonly electricityQuotaId: string | null;
  readonly holidayOff: boolean;
}

export interface NewMeter {
  readonly id: string;
  readonly kind: 'electric' | 'water';
  readonly profile: MeterProfileName;
  readonly gatewayId: string;
  readonly unitAddress: string;
}

export interface GatewayRow {
  readonly id: string;
  readonly campusId: string;
  readonly buildingId: string | null;
  readonly protocol: 'modbus-tcp' | 'mqtt';
  readonly address: string;
}

/** The circuits a campus 1-in-3-out meter switches, one row each. */
const ONE_IN_THREE_OUT_CIRCUITS = ['lighting', 'socket', 'ac'] as const;

export async function insertDormitory(db: Executor, dormitory: NewDormitory): Promise<void> {
  await db
    .insertInto('dormitories')
    .values({
      id: dormitory.id,
      building_id: dormitory.buildingId,
      floor: dormitory.floor,
      room: dormitory.room,
      capacity: dormitory.capacity,
      tags: JSON.stringify(dormitory.tags),
      electricity_tariff_id: dormitory.electricityTariffId,
      water_tariff_id: dormitory.waterTariffId,
      electricity_quota_id: dormitory.electricityQuotaId,
      holiday_off: dormitory.holidayOff,
    })
    .execute();
}

/** Whether anyone lives in the dormitory, and whether it has ever had money (ledger entries). */
export async function dormitoryInUse(db: Executor, dormitoryId: string): Promise<{ occupied: boolean; hasLedger: boolean }> {
  const [occupant, entry] = await Promise.all([
    db.selectFrom('occupants').select('id').where('dormitory_id', '=', dormitoryId).executeTakeFirst(),
    db.selectFrom('ledger_entries').select('id').where('dormitory_id', '=', dormitoryId).executeTakeFirst(),
  ]);
  return { occupied: occupant !== undefined, hasLedger: entry !== undefined };
}

/** Deletes an empty dormitory with its meters, circuits, billing cursors, control state, accounts and billing states. */
export async function deleteDormitory(db: Executor, dormitoryId: string): Promise<void> {
  const meterIds = (await db.selectFrom('meters').select('id').where('dormitory_id', '=', dormitoryId).execute()).map((m) => m.id);
  if (meterIds.length > 0) {
    await deleteMeterControl(db, meterIds);
    await db.deleteFrom('billing_cursors').where('meter_id', 'in', meterIds).execute();
    await db.deleteFrom('circuits').where('meter_id', 'in', meterIds).execute();
    await db.deleteFrom('meters').where('id', 'in', meterIds).execute();
  }
  await db.deleteFrom('manual_cuts').where('dormitory_id', '=', dormitoryId).execute();
  await db.deleteFrom('control_states').where('dormitory_id', '=', dormitoryId).execute();
  await db.deleteFrom('accounts').where('dormitory_id', '=', dormitoryId).execute();
  await db.deleteFrom('purse_billing_states').where('dormitory_id', '=', dormitoryId).execute();
  await db.deleteFrom('dormitories').where('id', '=', dormitoryId).execute();
}

/** Inserts a meter, and a campus 1-in-3-out meter's three circuits. */
export async function insertMeter(db: Executor, dormitoryId: string, meter: NewMeter): Promise<void> {
  await db.insertInto('meters').values({ id: meter.id, dormitory_id: dormitoryId, kind: meter.kind, profile: meter.profile, gateway_id: meter.gatewayId, unit_address: meter.unitAddress }).execute();
  if (meter.profile === 'campus-1in3out') {
    await db
      .insertInto('circuits')
      .values(ONE_IN_THREE_OUT_CIRCUITS.map((kind) => ({ id: `${meter.id}:${kind}`, meter_id: meter.id, kind })))
      .execute();
  }
}

export async function meterInDormitory(db: Executor, dormitoryId: string, meterId: string): Promise<boolean> {
  return (await db.selectFrom('meters').select('id').where('id', '=', meterId).where('dormitory_id', '=', dormitoryId).executeTakeFirst()) !== undefined;
}

/**
 * The control state a removed meter leaves (its manual cuts and its and its circuits' persisted
 * rule states): a meter installed later under the same id must not start cut by an operator's
 * cut of the old one (an outside attack found them left behind).
 */
async function deleteMeterControl(db: Executor, meterIds: readonly string[]): Promise<void> {
  await db.deleteFrom('manual_cuts').where('meter_id', 'in', meterIds).execute();
  await db
    .deleteFrom('control_states')
    .where((eb) => eb.or(meterIds.flatMap((id) => [eb('actor_key', '=', meterControlKey(id)), eb('actor_key', 'like', `${circuitControlKey(id, '').replace(/[\\%_]/g, '\\$&')}%`)])))
    .execute();
}

/** Deletes a meter with its circuits, billing cursor and control state (its billed consumption stays in the ledger). */
export async function deleteMeter(db: Executor, meterId: string): Promise<void> {
  await deleteMeterControl(db, [meterId]);
  await db.deleteFrom('billing_cursors').where('meter_id', '=', meterId).execute();
  await db.deleteFrom('circuits').where('meter_id', '=', meterId).execute();
  await db.deleteFrom('meters').where('id', '=', meterId).execute();
}

export async function findGateway(db: Executor, gatewayId: string): Promise<GatewayRow | undefined> {
  const row = await db.selectFrom('gateways').select(['id', 'campus_id', 'building_id', 'protocol', 'address']).where('id', '=', gatewayId).executeTakeFirst();
  return row && { id: row.id, campusId: row.campus_id, buildingId: row.building_id, protocol: row.protocol, address: row.address };
}

export async function insertGateway(db: Executor, gateway: GatewayRow): Promise<void> {
  await db.insertInto('gateways').values({ id: gateway.id, campus_id: gateway.campusId, building_id: gateway.buildingId, protocol: gateway.protocol, address: gateway.address }).execute();
}

export async function gatewayHasMeters(db: Executor, gatewayId: string): Promise<boolean> {
  return (await db.selectFrom('meters').select('id').where('gateway_id', '=', gatewayId).executeTakeFirst()) !== undefined;
}

/** Deletes a gateway and its driver leases. */
export async function deleteGateway(db: Executor, gatewayId: string): Promise<void> {
  await db.deleteFrom('gateway_leases').where('gateway_id', '=', gatewayId).execute();
  await db.deleteFrom('gateways').where('id', '=', gatewayId).execute();
}
