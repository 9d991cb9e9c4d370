import type { Insertable, Kysely } from 'kysely';
import type { AccountsTable, CircuitsTable, Database, DormitoriesTable, MetersTable } from '../src/db/database.ts';
import { SyntheticMeter } from './synthetic-meter.ts';

/** The synthetic campus a scenario runs on. */
export interface CampusShape {
  readonly dormitories: number;
  readonly metersPerGateway: number;
  readonly dormitoriesPerBuilding: number;
  /** Dormitories that start nearly empty, spread evenly over the campus, for the cut-off probes. */
  readonly probeDormitories: number;
  readonly protocol: 'modbus-tcp' | 'mqtt';
  /** Address stored on every gateway row (the bench's own drivers ignore it). */
  readonly gatewayAddress: string;
}

export const CAMPUS_ID = 'bench';
/** Local 10:00 (UTC+8) on a weekday: the peak tariff period, lights on, no schedule rule active. */
export const START_AT = Date.parse('2026-03-02T02:00:00Z');
export const TARIFF_ID = 'bench-tou';
/** Minor units (fen). A normal dormitory never reaches a warning level during the run. */
export const NORMAL_BALANCE = 1_000_000;
/** A probe dormitory: below the last warning level, and a 1 kWh surge (60 fen at peak) takes it below zero. */
export const PROBE_BALANCE = 50;
export const SURGE_WH = 1_000;
const WATER_BALANCE = 100_000;
const ARREARS = { warningLevels: [2000, 500], overdraftLimit: 0, restoreThreshold: 100, waterArrearsCutsElectricity: true };
const TOU = {
  kind: 'time_of_use',
  periods: [
    { name: 'peak', from: '08:00', to: '22:00', rate: 60000 },
    { name: 'valley', from: '22:00', to: '08:00', rate: 30000 },
  ],
};

export interface SyntheticCampus {
  readonly shape: CampusShape;
  readonly gatewayIds: readonly string[];
  readonly meters: readonly SyntheticMeter[];
  /** The nearly empty dormitories' meters. */
  readonly probes: readonly SyntheticMeter[];
  /** Meter by `${gatewayId}|${unitAddress}`. */
  readonly byUnit: ReadonlyMap<string, SyntheticMeter>;
  readonly rowsSeeded: number;
}

export const unitKey = (gatewayId: string, unitAddress: string): string => `${gatewayId}|${unitAddress}`;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Multi-row inserts in chunks that stay under PostgreSQL's 65,535 bind parameters. */
async function insertChunked<T>(rows: readonly T[], chunk: number, insert: (slice: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) await insert(rows.slice(i, i + chunk));
}

/**
 * Seeds a campus of `shape.dormitories` rooms into an empty, migrated database in one
 * transaction with multi-row inserts: campus (arrears policy), buildings, a time-of-use
 * tariff, gateways of `metersPerGateway` meters, dormitories, one 1-in-3-out meter and its
 * three circuits per room, both purses' accounts with their opening balances posted as
 * ledger entries (so `reconcile` holds).
 */
export async function seedSyntheticCampus(db: Kysely<Database>, shape: CampusShape, now: Date): Promise<SyntheticCampus> {
  const n = shape.dormitories;
  const buildings = Math.ceil(n / shape.dormitoriesPerBuilding);
  const gateways = Math.ceil(n / shape.metersPerGateway);
  const probeIndexes = new Set<number>();
  for (let j = 0; j < shape.probeDormitories; j++) probeIndexes.add(Math.floor(((j + 0.5) * n) / shape.probeDormitories));

  const gatewayIds = Array.from({ length: gateways }, (_, g) => `GW-${pad(g + 1, 3)}`);
  const meters: SyntheticMeter[] = [];
  const probes: SyntheticMeter[] = [];
  const dormRows: Insertable<DormitoriesTable>[] = [];
  const meterRows: Insertable<MetersTable>[] = [];
  const circuitRows: Insertable<CircuitsTable>[] = [];
  const accountRows: Insertable<AccountsTable>[] = [];
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / shape.dormitoriesPerBuilding);
    const inBuilding = i % shape.dormitoriesPerBuilding;
    const floor = Math.floor(inBuilding / 50) + 1;
    const dormitoryId = `D-${pad(i + 1, 6)}`;
    const meterId = `M-${pad(i + 1, 6)}`;
    const gatewayId = gatewayIds[Math.floor(i / shape.metersPerGateway)]!;
    const unitAddress = String((i % shape.metersPerGateway) + 1);
    const probe = probeIndexes.has(i);
    const meter = new SyntheticMeter({ meterId, dormitoryId, gatewayId, unitAddress }, i + 1, probe ? 0.1 : 1);
    meters.push(meter);
    if (probe) probes.push(meter);
    dormRows.push({ id: dormitoryId, building_id: `BLD-${pad(b + 1, 2)}`, floor, room: `${floor}${pad((inBuilding % 50) + 1, 2)}`, electricity_tariff_id: TARIFF_ID, water_tariff_id: null, electricity_quota_id: null, water_quota_id: null });
    meterRows.push({ id: meterId, dormitory_id: dormitoryId, kind: 'electric', profile: 'campus-1in3out', gateway_id: gatewayId, unit_address: unitAddress });
    for (const kind of ['lighting', 'socket', 'ac'] as const) circuitRows.push({ id: `${meterId}:${kind}`, meter_id: meterId, kind });
    accountRows.push({ dormitory_id: dormitoryId, purse: 'electricity', balance: probe ? PROBE_BALANCE : NORMAL_BALANCE }, { dormitory_id: dormitoryId, purse: 'water', balance: WATER_BALANCE });
  }

  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: CAMPUS_ID, name: 'Bench University', utc_offset_minutes: 480, settings: JSON.stringify({ arrears: ARREARS }) }).execute();
    await trx.insertInto('tariffs').values({ id: TARIFF_ID, name: 'Residential time-of-use', purse: 'electricity', definition: JSON.stringify(TOU) }).execute();
    await trx
      .insertInto('buildings')
      .values(Array.from({ length: buildings }, (_, b) => ({ id: `BLD-${pad(b + 1, 2)}`, campus_id: CAMPUS_ID, name: `Building ${b + 1}`, floors: Math.ceil(shape.dormitoriesPerBuilding / 50) })))
      .execute();
    await trx
      .insertInto('gateways')
      .values(gatewayIds.map((id, g) => ({ id, campus_id: CAMPUS_ID, building_id: `BLD-${pad(Math.floor((g * shape.metersPerGateway) / shape.dormitoriesPerBuilding) + 1, 2)}`, protocol: shape.protocol, address: shape.gatewayAddress })))
      .execute();
    await insertChunked(dormRows, 5000, (slice) => trx.insertInto('dormitories').values(slice).execute());
    await insertChunked(meterRows, 5000, (slice) => trx.insertInto('meters').values(slice).execute());
    await insertChunked(circuitRows, 10_000, (slice) => trx.insertInto('circuits').values(slice).execute());
    const accounts: { id: number; dormitory_id: string; purse: 'electricity' | 'water'; balance: number }[] = [];
    await insertChunked(accountRows, 10_000, async (slice) => accounts.push(...(await trx.insertInto('accounts').values(slice).returning(['id', 'dormitory_id', 'purse', 'balance']).execute())));
    const openings = accounts.map((a) => ({
      account_id: a.id,
      dormitory_id: a.dormitory_id,
      purse: a.purse,
      kind: 'adjustment' as const,
      amount: a.balance,
      usage: null,
      balance_after: a.balance,
      meter_id: null,
      reference: null,
      operator: 'bench',
      occurred_at: now,
      details: JSON.stringify({ note: 'opening balance' }),
    }));
    await insertChunked(openings, 4000, (slice) => trx.insertInto('ledger_entries').values(slice).execute());
  });

  return {
    shape,
    gatewayIds,
    meters,
    probes,
    byUnit: new Map(meters.map((m) => [unitKey(m.placement.gatewayId, m.placement.unitAddress), m])),
    rowsSeeded: 2 + buildings + gateways + dormRows.length + meterRows.length + circuitRows.length + accountRows.length * 2,
  };
}
