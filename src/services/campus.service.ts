import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { appendAudit } from '../db/audit.repository.ts';
import {
  activeBuildingCount,
  buildingInUse,
  findBuilding,
  findCampus,
  findCampusOfBuilding,
  insertBuilding,
  insertCampus,
  updateBuilding,
  updateCampus,
  type BuildingRow,
  type CampusRow,
} from '../db/campus.repository.ts';
import type { Database } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { campusSettingsOf, isTimeZone, patchCampusSettings, zoneOffsetMinutes, type CampusSettings } from '../domain/campus-settings.ts';
import { DomainError } from '../errors.ts';

/** What campus changes need of the running actors (CampusRuntime). */
export interface CampusSettingsRuntime {
  /** A campus's settings changed: its running dormitories take the new policy (rebuilt when the time zone moved). */
  campusSettingsChanged(campusId: string): Promise<void>;
}

export interface CampusDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly runtime: CampusSettingsRuntime;
}

export interface CampusView {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly retiredAt: string | null;
}

export interface BuildingView {
  readonly id: string;
  readonly campusId: string;
  readonly name: string;
  readonly floors: number;
  readonly retiredAt: string | null;
}

export const campusView = (c: CampusRow): CampusView => ({ id: c.id, name: c.name, timeZone: campusSettingsOf({ settings: c.settings, time_zone: c.timeZone, utc_offset_minutes: c.utcOffsetMinutes }).timeZone, retiredAt: c.retiredAt?.toISOString() ?? null });
export const buildingView = (b: BuildingRow): BuildingView => ({ id: b.id, campusId: b.campusId, name: b.name, floors: b.floors, retiredAt: b.retiredAt?.toISOString() ?? null });

async function campusOrThrow(db: Executor, id: string, lock = false): Promise<CampusRow> {
  const campus = await findCampus(db, id, lock);
  if (!campus) throw new DomainError('NOT_FOUND', `campus ${id} does not exist`, 'id');
  return campus;
}

export async function createCampus(deps: CampusDeps, input: { id: string; name: string; timeZone?: string | undefined }, operator: string): Promise<CampusView> {
  const timeZone = input.timeZone ?? 'Asia/Shanghai';
  if (!isTimeZone(timeZone)) throw new DomainError('VALIDATION_FAILED', 'timeZone must be an IANA time zone, e.g. Asia/Shanghai', 'timeZone');
  await deps.db.transaction().execute(async (trx) => {
    if (await findCampus(trx, input.id)) throw new DomainError('ALREADY_EXISTS', `campus ${input.id} already exists`, 'id');
    await insertCampus(trx, { id: input.id, name: input.name, timeZone, utcOffsetMinutes: zoneOffsetMinutes(timeZone, deps.clock.now()) });
    await appendAudit(trx, { operator, action: 'campus.create', targetType: 'campus', targetId: input.id, details: { name: input.name, timeZone } });
  });
  return campusView(await campusOrThrow(deps.db, input.id));
}

/** Renames or retires (or returns to service) a campus; a campus with buildings in service cannot retire. */
export async function changeCampus(deps: CampusDeps, id: string, change: { name?: string | undefined; retired?: boolean | undefined }, operator: string): Promise<CampusView> {
  await deps.db.transaction().execute(async (trx) => {
    const campus = await campusOrThrow(trx, id, true);
    if (change.retired === true && campus.retiredAt === null && (await activeBuildingCount(trx, id)) > 0) {
      throw new DomainError('STILL_REFERENCED', `campus ${id} still has buildings in service: retire them first`, 'retired');
    }
    const retiredAt = change.retired === undefined ? undefined : change.retired ? (campus.retiredAt ?? new Date(deps.clock.now())) : null;
    await updateCampus(trx, id, { ...(change.name === undefined ? {} : { name: change.name }), ...(retiredAt === undefined ? {} : { retiredAt }) });
    await appendAudit(trx, { operator, action: 'campus.update', targetType: 'campus', targetId: id, details: { ...change } });
  });
  return campusView(await campusOrThrow(deps.db, id));
}

export async function createBuilding(deps: CampusDeps, input: { id: string; campusId: string; name: string; floors: number }, operator: string): Promise<BuildingView> {
  await deps.db.transaction().execute(async (trx) => {
    const campus = await findCampus(trx, input.campusId);
    if (!campus) throw new DomainError('NOT_FOUND', `campus ${input.campusId} does not exist`, 'campusId');
    if (campus.retiredAt !== null) throw new DomainError('VALIDATION_FAILED', `campus ${input.campusId} is retired`, 'campusId');
    if (await findBuilding(trx, input.id)) throw new DomainError('ALREADY_EXISTS', `building ${input.id} already exists`, 'id');
    await insertBuilding(trx, input);
    await appendAudit(trx, { operator, action: 'building.create', targetType: 'building', targetId: input.id, details: { ...input } });
  });
  return buildingView((await findBuilding(deps.db, input.id))!);
}

/** Renames, re-floors or retires a building; one with students or meters in it cannot retire. */
export async function changeBuilding(deps: CampusDeps, id: string, change: { name?: string | undefined; floors?: number | undefined; retired?: boolean | undefined }, operator: string): Promise<BuildingView> {
  await deps.db.transaction().execute(async (trx) => {
    const building = await findBuilding(trx, id);
    if (!building) throw new DomainError('BUILDING_NOT_FOUND', `building ${id} does not exist`, 'id');
    if (change.retired === true && building.retiredAt === null) {
      const use = await buildingInUse(trx, id);
      if (use.occupants > 0 || use.meters > 0) throw new DomainError('STILL_REFERENCED', `building ${id} still has ${use.occupants} students and ${use.meters} meters: check them out and remove the meters first`, 'retired');
    }
    const retiredAt = change.retired === undefined ? undefined : change.retired ? (building.retiredAt ?? new Date(deps.clock.now())) : null;
    await updateBuilding(trx, id, { ...(change.name === undefined ? {} : { name: change.name }), ...(change.floors === undefined ? {} : { floors: change.floors }), ...(retiredAt === undefined ? {} : { retiredAt }) });
    await appendAudit(trx, { operator, action: 'building.update', targetType: 'building', targetId: id, details: { ...change } });
  });
  return buildingView((await findBuilding(deps.db, id))!);
}

/** The time zone a building's times are shown in (its campus's); Asia/Shanghai when it has no campus row. */
export async function buildingTimeZone(db: Executor, buildingId: string): Promise<string> {
  const campus = await findCampusOfBuilding(db, buildingId);
  return campus ? campusSettingsOf({ settings: campus.settings, time_zone: campus.timeZone, utc_offset_minutes: campus.utcOffsetMinutes }).timeZone : 'Asia/Shanghai';
}

export async function getCampusSettings(deps: CampusDeps, id: string): Promise<CampusSettings> {
  const campus = await campusOrThrow(deps.db, id);
  return campusSettingsOf({ settings: campus.settings, time_zone: campus.timeZone, utc_offset_minutes: campus.utcOffsetMinutes });
}

/**
 * Changes a campus's settings (only the fields given), validated (400 names the field),
 * audited with before and after, and applied to its running dormitories at once.
 */
export async function patchSettings(deps: CampusDeps, id: string, patch: Partial<Record<keyof CampusSettings, unknown>>, operator: string): Promise<CampusSettings> {
  const settings = await deps.db.transaction().execute(async (trx) => {
    const campus = await campusOrThrow(trx, id, true);
    const before = campusSettingsOf({ settings: campus.settings, time_zone: campus.timeZone, utc_offset_minutes: campus.utcOffsetMinutes });
    const checked = patchCampusSettings(before, patch);
    if (!checked.ok) throw new DomainError('VALIDATION_FAILED', `${checked.field} ${checked.message}`, checked.field);
    const next = checked.settings;
    const arrears = { ...((campus.settings.arrears as Record<string, unknown> | undefined) ?? {}), warningLevels: next.warningLevels, overdraftLimit: next.overdraftLimit, restoreThreshold: next.restoreThreshold, waterArrearsCutsElectricity: next.waterArrearsCutsElectricity };
    await updateCampus(trx, id, { settings: { ...campus.settings, arrears, settlement: next.settlement, semesters: next.semesters }, timeZone: next.timeZone, utcOffsetMinutes: zoneOffsetMinutes(next.timeZone, deps.clock.now()) });
    await appendAudit(trx, { operator, action: 'campus.settings', targetType: 'campus', targetId: id, details: { before, after: next } });
    return next;
  });
  await deps.runtime.campusSettingsChanged(id);
  return settings;
}
