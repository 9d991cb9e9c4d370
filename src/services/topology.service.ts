import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { GatewayView } from '../actors/gateway.actor.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { findBuilding, findCampus } from '../db/campus.repository.ts';
import type { Database } from '../db/database.ts';
import { dormitoryExists } from '../db/dormitory.repository.ts';
import type { Executor } from '../db/executor.ts';
import {
  deleteDormitory,
  deleteGateway,
  deleteMeter,
  dormitoryInUse,
  findGateway,
  gatewayHasMeters,
  insertDormitory,
  insertGateway,
  insertMeter,
  meterInDormitory,
  type GatewayRow,
  type NewDormitory,
  type NewMeter,
} from '../db/installation.repository.ts';
import { ensureAccounts } from '../db/ledger.repository.ts';
import type { GatewayTopology } from '../db/topology.repository.ts';
import { gatewayAddressProblem } from '../domain/gateway-address.ts';
import { parseUnitId } from '../drivers/modbus-unit-id.ts';
import { DomainError, isUniqueViolation } from '../errors.ts';
import { assertTariffForPurse } from './tariff.service.ts';

/**
 * Adding and removing dormitories, meters and gateways. Each change is checked, committed and
 * audited in one transaction, then applied to the live actor tree without a restart: the
 * dormitory (or gateway) actor is stopped and started again from the database.
 */

/** What topology changes need of the running actors (CampusRuntime). */
export interface TopologyRuntime {
  /** `whileStopped`: a change made while the dormitory's actors are stopped and their charges committed. */
  reloadDormitory(id: string, whileStopped?: () => Promise<void>): Promise<boolean>;
  unloadDormitory(id: string): Promise<boolean>;
  flush(): Promise<void>;
  prepareGateway(gateway: Pick<GatewayTopology, 'protocol'>): Promise<void>;
  addGateway(gateway: GatewayTopology): Promise<boolean>;
  removeGateway(gatewayId: string): Promise<boolean>;
  gateway(id: string): Promise<GatewayView | undefined>;
}

export interface TopologyDeps {
  readonly db: Kysely<Database>;
  readonly runtime: TopologyRuntime;
  /** The node runs the in-process simulator (a gateway may then have the address "simulator"). */
  readonly simulate: boolean;
  readonly log: Pick<Logger, 'warn'>;
}

export type DormitoryInput = Pick<NewDormitory, 'id' | 'buildingId' | 'floor' | 'room'> & Partial<Omit<NewDormitory, 'id' | 'buildingId' | 'floor' | 'room'>>;

export interface GatewayStatus extends GatewayRow {
  readonly online: boolean;
  readonly meters: number;
  readonly commandsInFlight: number;
}

/** Refuses a meter whose gateway is missing, whose Modbus unit is not 1..247, or whose profile does not fit its kind (`field` prefixes the field names). */
async function assertMeterFits(db: Executor, meter: NewMeter, field = ''): Promise<void> {
  const gateway = await findGateway(db, meter.gatewayId);
  if (!gateway) throw new DomainError('GATEWAY_NOT_FOUND', `gateway ${meter.gatewayId} does not exist`, `${field}gatewayId`);
  if (gateway.protocol === 'modbus-tcp' && parseUnitId(meter.unitAddress) === undefined) throw new DomainError('VALIDATION_FAILED', 'a Modbus unit address is an integer 1..247', `${field}unitAddress`);
  if ((meter.kind === 'water') !== (meter.profile === 'water-valve')) throw new DomainError('VALIDATION_FAILED', `profile ${meter.profile} does not fit a ${meter.kind} meter`, `${field}profile`);
}

async function installAudited(db: Executor, dormitoryId: string, meter: NewMeter, operator: string): Promise<void> {
  await insertMeter(db, dormitoryId, meter);
  await appendAudit(db, { operator, action: 'meter.install', targetType: 'dormitory', targetId: dormitoryId, details: { ...meter } });
}

/** Adds a dormitory (and the meters installed with it, in the same transaction) and starts its actor. */
export async function addDormitory(deps: TopologyDeps, input: DormitoryInput, meters: readonly NewMeter[], operator: string): Promise<void> {
  const { db } = deps;
  const building = await findBuilding(db, input.buildingId);
  if (!building) throw new DomainError('BUILDING_NOT_FOUND', `building ${input.buildingId} does not exist`, 'building');
  if (building.retiredAt !== null) throw new DomainError('VALIDATION_FAILED', `building ${input.buildingId} is retired`, 'building');
  // A tariff prices only its own purse (an electricity tariff never prices a water meter).
  if (input.electricityTariffId) await assertTariffForPurse(db, input.electricityTariffId, 'electricity', 'electricityTariffId');
  if (input.waterTariffId) await assertTariffForPurse(db, input.waterTariffId, 'water', 'waterTariffId');
  for (const [i, meter] of meters.entries()) await assertMeterFits(db, meter, `meters/${i}/`);
  const dormitory: NewDormitory = {
    id: input.id,
    buildingId: input.buildingId,
    floor: input.floor,
    room: input.room,
    capacity: input.capacity ?? 4,
    tags: input.tags ?? [],
    electricityTariffId: input.electricityTariffId ?? null,
    waterTariffId: input.waterTariffId ?? null,
    electricityQuotaId: input.electricityQuotaId ?? null,
    holidayOff: input.holidayOff ?? false,
  };
  try {
    await db.transaction().execute(async (trx) => {
      await insertDormitory(trx, dormitory);
      await ensureAccounts(trx, input.id);
      await appendAudit(trx, { operator, action: 'dormitory.create', targetType: 'dormitory', targetId: input.id, details: { ...input } });
      for (const meter of meters) await installAudited(trx, input.id, meter, operator);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `dormitory ${input.id} (or room ${input.room} in ${input.buildingId}, or one of its meters or units) already exists`, 'id');
    throw error;
  }
  await deps.runtime.reloadDormitory(input.id);
}

/** Removes an empty dormitory that never had money: its actor stops first. */
export async function removeDormitory(deps: TopologyDeps, id: string, operator: string): Promise<void> {
  const { db } = deps;
  if (!(await dormitoryExists(db, id))) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`);
  const use = await dormitoryInUse(db, id);
  if (use.occupied) throw new DomainError('ALREADY_EXISTS', `dormitory ${id} still has occupants: check them out first`, 'id');
  if (use.hasLedger) throw new DomainError('ALREADY_EXISTS', `dormitory ${id} has ledger history: settle and archive it instead`, 'id');
  await deps.runtime.unloadDormitory(id);
  await db.transaction().execute(async (trx) => {
    await deleteDormitory(trx, id);
    await appendAudit(trx, { operator, action: 'dormitory.delete', targetType: 'dormitory', targetId: id });
  });
}

/** Installs a meter in a dormitory and restarts the dormitory's actor with it. */
export async function installMeter(deps: TopologyDeps, dormitoryId: string, meter: NewMeter, operator: string): Promise<void> {
  const { db } = deps;
  if (!(await dormitoryExists(db, dormitoryId))) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${dormitoryId} does not exist`);
  await assertMeterFits(db, meter);
  try {
    await db.transaction().execute((trx) => installAudited(trx, dormitoryId, meter, operator));
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `meter ${meter.id} or unit ${meter.unitAddress} on ${meter.gatewayId} already exists`, 'id');
    throw error;
  }
  await deps.runtime.reloadDormitory(dormitoryId);
}

/** Removes a meter: the dormitory stops, its billed consumption is committed, then the meter goes and the dormitory starts again. */
export async function removeMeter(deps: TopologyDeps, dormitoryId: string, meterId: string, operator: string): Promise<void> {
  const { db, runtime } = deps;
  if (!(await meterInDormitory(db, dormitoryId, meterId))) throw new DomainError('METER_NOT_FOUND', `meter ${meterId} is not in dormitory ${dormitoryId}`);
  // In the dormitory's turn of reloads: a reload running meanwhile can no more start it with the meter just removed.
  await runtime.reloadDormitory(dormitoryId, async () => {
    await runtime.flush();
    await db.transaction().execute(async (trx) => {
      await deleteMeter(trx, meterId);
      await appendAudit(trx, { operator, action: 'meter.remove', targetType: 'dormitory', targetId: dormitoryId, details: { meterId } });
    });
  });
}

/**
 * Adds a gateway and starts its driver session. The node is readied for it before anything is
 * committed: an MQTT gateway on a node that booted without one connects the node to the broker
 * now, and a broker out of reach refuses the gateway whole (503, no row).
 */
export async function addGateway(deps: TopologyDeps, gateway: GatewayRow, operator: string): Promise<void> {
  const { db, runtime } = deps;
  if (!(await findCampus(db, gateway.campusId))) throw new DomainError('NOT_FOUND', `campus ${gateway.campusId} does not exist`, 'campusId');
  const addressProblem = gatewayAddressProblem(gateway.protocol, gateway.address, deps.simulate);
  if (addressProblem) throw new DomainError('VALIDATION_FAILED', addressProblem, 'address');
  try {
    await runtime.prepareGateway({ protocol: gateway.protocol });
  } catch (error) {
    deps.log.warn({ err: error, gateway: gateway.id }, 'gateway refused: its driver cannot be readied');
    throw new DomainError('BROKER_UNAVAILABLE', `the MQTT broker cannot be reached; gateway ${gateway.id} was not added, retry later`, 'protocol');
  }
  try {
    await db.transaction().execute(async (trx) => {
      await insertGateway(trx, gateway);
      await appendAudit(trx, { operator, action: 'gateway.create', targetType: 'gateway', targetId: gateway.id, details: { ...gateway } });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `gateway ${gateway.id} already exists`, 'id');
    throw error;
  }
  await runtime.addGateway({ id: gateway.id, campusId: gateway.campusId, protocol: gateway.protocol, address: gateway.address, settings: {} });
}

/** Removes a gateway that no meter uses: its driver stops first. */
export async function removeGateway(deps: TopologyDeps, id: string, operator: string): Promise<void> {
  const { db } = deps;
  if (!(await findGateway(db, id))) throw new DomainError('GATEWAY_NOT_FOUND', `gateway ${id} does not exist`);
  if (await gatewayHasMeters(db, id)) throw new DomainError('ALREADY_EXISTS', `gateway ${id} still has meters: remove or move them first`, 'id');
  await deps.runtime.removeGateway(id);
  await db.transaction().execute(async (trx) => {
    await deleteGateway(trx, id);
    await appendAudit(trx, { operator, action: 'gateway.delete', targetType: 'gateway', targetId: id });
  });
}

/** A gateway as stored, with its live session (offline, no meters, when its actor does not answer). */
export async function gatewayStatus(deps: Pick<TopologyDeps, 'db' | 'runtime'>, id: string): Promise<GatewayStatus> {
  const row = await findGateway(deps.db, id);
  if (!row) throw new DomainError('GATEWAY_NOT_FOUND', `gateway ${id} does not exist`);
  const live = await deps.runtime.gateway(id).catch(() => undefined);
  return { ...row, online: live?.online ?? false, meters: live?.meters ?? 0, commandsInFlight: live?.commandsInFlight ?? 0 };
}
