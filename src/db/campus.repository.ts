import type { Executor } from './executor.ts';

export interface CampusRow {
  readonly id: string;
  readonly name: string;
  readonly utcOffsetMinutes: number;
  readonly timeZone: string | null;
  readonly settings: Record<string, unknown>;
  readonly retiredAt: Date | null;
}

export interface BuildingRow {
  readonly id: string;
  readonly campusId: string;
  readonly name: string;
  readonly floors: number;
  readonly retiredAt: Date | null;
}

const campusColumns = ['id', 'name', 'utc_offset_minutes', 'time_zone', 'settings', 'retired_at'] as const;
const toCampus = (r: { id: string; name: string; utc_offset_minutes: number; time_zone: string | null; settings: Record<string, unknown>; retired_at: Date | null }): CampusRow => ({
  id: r.id,
  name: r.name,
  utcOffsetMinutes: r.utc_offset_minutes,
  timeZone: r.time_zone,
  settings: r.settings,
  retiredAt: r.retired_at === null ? null : new Date(r.retired_at),
});
const toBuilding = (r: { id: string; campus_id: string; name: string; floors: number; retired_at: Date | null }): BuildingRow => ({
  id: r.id,
  campusId: r.campus_id,
  name: r.name,
  floors: r.floors,
  retiredAt: r.retired_at === null ? null : new Date(r.retired_at),
});

export async function listCampuses(db: Executor): Promise<CampusRow[]> {
  return (await db.selectFrom('campuses').select(campusColumns).orderBy('id').execute()).map(toCampus);
}

export async function findCampus(db: Executor, id: string, lock = false): Promise<CampusRow | undefined> {
  const query = db.selectFrom('campuses').select(campusColumns).where('id', '=', id);
  const row = await (lock ? query.forUpdate() : query).executeTakeFirst();
  return row && toCampus(row);
}

/** The campus a building belongs to. */
export async function findCampusOfBuilding(db: Executor, buildingId: string): Promise<CampusRow | undefined> {
  const row = await db
    .selectFrom('campuses as c')
    .innerJoin('buildings as b', 'b.campus_id', 'c.id')
    .select(campusColumns.map((column) => `c.${column}` as const))
    .where('b.id', '=', buildingId)
    .executeTakeFirst();
  return row && toCampus(row);
}

export async function insertCampus(db: Executor, campus: { id: string; name: string; timeZone: string; utcOffsetMinutes: number }): Promise<void> {
  await db.insertInto('campuses').values({ id: campus.id, name: campus.name, time_zone: campus.timeZone, utc_offset_minutes: campus.utcOffsetMinutes }).execute();
}

export async function updateCampus(db: Executor, id: string, change: { name?: string; retiredAt?: Date | null; settings?: Record<string, unknown>; timeZone?: string; utcOffsetMinutes?: number }): Promise<void> {
  await db
    .updateTable('campuses')
    .set({
      ...(change.name === undefined ? {} : { name: change.name }),
      ...(change.retiredAt === undefined ? {} : { retired_at: change.retiredAt }),
      ...(change.settings === undefined ? {} : { settings: JSON.stringify(change.settings) }),
      ...(change.timeZone === undefined ? {} : { time_zone: change.timeZone }),
      ...(change.utcOffsetMinutes === undefined ? {} : { utc_offset_minutes: change.utcOffsetMinutes }),
    })
    .where('id', '=', id)
    .execute();
}

export async function listBuildings(db: Executor, campusId?: string): Promise<BuildingRow[]> {
  let query = db.selectFrom('buildings').select(['id', 'campus_id', 'name', 'floors', 'retired_at']).orderBy('id');
  if (campusId !== undefined) query = query.where('campus_id', '=', campusId);
  return (await query.execute()).map(toBuilding);
}

export async function findBuilding(db: Executor, id: string): Promise<BuildingRow | undefined> {
  const row = await db.selectFrom('buildings').select(['id', 'campus_id', 'name', 'floors', 'retired_at']).where('id', '=', id).executeTakeFirst();
  return row && toBuilding(row);
}

export async function insertBuilding(db: Executor, building: { id: string; campusId: string; name: string; floors: number }): Promise<void> {
  await db.insertInto('buildings').values({ id: building.id, campus_id: building.campusId, name: building.name, floors: building.floors }).execute();
}

export async function updateBuilding(db: Executor, id: string, change: { name?: string; floors?: number; retiredAt?: Date | null }): Promise<void> {
  await db
    .updateTable('buildings')
    .set({
      ...(change.name === undefined ? {} : { name: change.name }),
      ...(change.floors === undefined ? {} : { floors: change.floors }),
      ...(change.retiredAt === undefined ? {} : { retired_at: change.retiredAt }),
    })
    .where('id', '=', id)
    .execute();
}

/** Buildings of a campus still in service. */
export async function activeBuildingCount(db: Executor, campusId: string): Promise<number> {
  const row = await db.selectFrom('buildings').select((eb) => eb.fn.countAll<number>().as('n')).where('campus_id', '=', campusId).where('retired_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Students living in a building now, and meters installed in it. */
export async function buildingInUse(db: Executor, buildingId: string): Promise<{ occupants: number; meters: number }> {
  const [occupants, meters] = await Promise.all([
    db.selectFrom('occupants as o').innerJoin('dormitories as d', 'd.id', 'o.dormitory_id').select((eb) => eb.fn.countAll<number>().as('n')).where('d.building_id', '=', buildingId).executeTakeFirstOrThrow(),
    db.selectFrom('meters as m').innerJoin('dormitories as d', 'd.id', 'm.dormitory_id').select((eb) => eb.fn.countAll<number>().as('n')).where('d.building_id', '=', buildingId).executeTakeFirstOrThrow(),
  ]);
  return { occupants: Number(occupants.n), meters: Number(meters.n) };
}
