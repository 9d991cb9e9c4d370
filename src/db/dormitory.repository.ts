import { sql } from 'kysely';
import type { Executor } from './executor.ts';
import { balancesOf } from './ledger.repository.ts';

export interface OccupantView {
  readonly studentNumber: string;
  readonly name: string;
  readonly college: string | null;
  readonly className: string | null;
  readonly phone: string | null;
  readonly bed: number | null;
}

export interface MeterView {
  readonly id: string;
  readonly kind: 'electric' | 'water';
  readonly profile: string;
  readonly gatewayId: string;
  readonly unitAddress: string;
}

export interface CircuitRecord {
  readonly id: string;
  readonly meterId: string;
  readonly kind: 'lighting' | 'socket' | 'ac';
}

export interface DormitorySummary {
  readonly id: string;
  readonly building: string;
  readonly buildingName: string;
  readonly floor: number;
  readonly room: string;
  readonly capacity: number;
  readonly tags: readonly string[];
  readonly state: string;
  readonly holidayOff: boolean;
  readonly balance: { electricity: number; water: number };
}

export interface DormitoryRecord extends DormitorySummary {
  readonly electricityTariffId: string | null;
  readonly waterTariffId: string | null;
  readonly occupants: readonly OccupantView[];
  readonly meters: readonly MeterView[];
  readonly circuits: readonly CircuitRecord[];
}

export interface DormitoryFilter {
  readonly building?: string | undefined;
  readonly state?: string | undefined;
  readonly q?: string | undefined;
  readonly page: number;
  readonly pageSize: number;
}

function baseQuery(db: Executor) {
  return db.selectFrom('dormitories as d').innerJoin('buildings as b', 'b.id', 'd.building_id');
}

export async function listDormitories(db: Executor, filter: DormitoryFilter): Promise<{ items: DormitorySummary[]; total: number }> {
  let query = baseQuery(db);
  if (filter.building) query = query.where((eb) => eb.or([eb('d.building_id', '=', filter.building!), eb('b.name', '=', filter.building!)]));
  if (filter.state) query = query.where('d.state', '=', filter.state);
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([
        eb('d.id', 'ilike', like),
        eb('d.room', 'ilike', like),
        eb.exists(
          eb
            .selectFrom('occupants as o')
            .select(sql`1`.as('one'))
            .whereRef('o.dormitory_id', '=', 'd.id')
            .where((o) => o.or([o('o.name', 'ilike', like), o('o.student_number', 'ilike', like)])),
        ),
      ]),
    );
  }
  const [rows, count] = await Promise.all([
    query
      .select(['d.id', 'd.building_id', 'b.name as building_name', 'd.floor', 'd.room', 'd.capacity', 'd.tags', 'd.state', 'd.holiday_off'])
      .orderBy('d.building_id')
      .orderBy('d.floor')
      .orderBy('d.room')
      .limit(filter.pageSize)
      .offset((filter.page - 1) * filter.pageSize)
      .execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const balances = await balancesOf(
    db,
    rows.map((r) => r.id),
  );
  return {
    total: Number(count.n),
    items: rows.map((r) => ({
      id: r.id,
      building: r.building_id,
      buildingName: r.building_name,
      floor: r.floor,
      room: r.room,
      capacity: r.capacity,
      tags: r.tags,
      state: r.state,
      holidayOff: r.holiday_off,
      balance: balances.get(r.id) ?? { electricity: 0, water: 0 },
    })),
  };
}

export async function findDormitory(db: Executor, id: string): Promise<DormitoryRecord | undefined> {
  const row = await baseQuery(db)
    .select([
      'd.id',
      'd.building_id',
      'b.name as building_name',
      'd.floor',
      'd.room',
      'd.capacity',
      'd.tags',
      'd.state',
      'd.holiday_off',
      'd.electricity_tariff_id',
      'd.water_tariff_id',
    ])
    .where('d.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const [occupants, meters, circuits, balances] = await Promise.all([
    db
      .selectFrom('occupants')
      .select(['student_number', 'name', 'college', 'class_name', 'phone', 'bed'])
      .where('dormitory_id', '=', id)
      .orderBy('bed')
      .execute(),
    db.selectFrom('meters').select(['id', 'kind', 'profile', 'gateway_id', 'unit_address']).where('dormitory_id', '=', id).orderBy('id').execute(),
    db
      .selectFrom('circuits as c')
      .innerJoin('meters as m', 'm.id', 'c.meter_id')
      .select(['c.id', 'c.meter_id', 'c.kind'])
      .where('m.dormitory_id', '=', id)
      .orderBy('c.id')
      .execute(),
    balancesOf(db, [id]),
  ]);
  return {
    id: row.id,
    building: row.building_id,
    buildingName: row.building_name,
    floor: row.floor,
    room: row.room,
    capacity: row.capacity,
    tags: row.tags,
    state: row.state,
    holidayOff: row.holiday_off,
    electricityTariffId: row.electricity_tariff_id,
    waterTariffId: row.water_tariff_id,
    balance: balances.get(id) ?? { electricity: 0, water: 0 },
    occupants: occupants.map((o) => ({
      studentNumber: o.student_number,
      name: o.name,
      college: o.college,
      className: o.class_name,
      phone: o.phone,
      bed: o.bed,
    })),
    meters: meters.map((m) => ({ id: m.id, kind: m.kind, profile: m.profile, gatewayId: m.gateway_id, unitAddress: m.unit_address })),
    circuits: circuits.map((c) => ({ id: c.id, meterId: c.meter_id, kind: c.kind })),
  };
}

export async function dormitoryExists(db: Executor, id: string): Promise<boolean> {
  const row = await db.selectFrom('dormitories').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

/** Keeps `dormitories.state` current from the live actors (written by the ledger's group commit). */
export async function updateDormitoryStates(db: Executor, states: ReadonlyMap<string, string>): Promise<void> {
  const rows = [...states];
  for (let i = 0; i < rows.length; i += 1000) {
    const values = sql.join(rows.slice(i, i + 1000).map(([id, state]) => sql`(${id}::text, ${state}::text)`));
    await sql`update dormitories as d set state = v.state from (values ${values}) as v(id, state) where d.id = v.id and d.state <> v.state`.execute(db);
  }
}
