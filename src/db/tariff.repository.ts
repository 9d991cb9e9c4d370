import type { TariffSchedule, TariffVersion } from '../domain/gap-pricing.ts';
import { validateTariff } from '../domain/tariff.ts';
import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';

/** A stored version of a tariff as it was written (the definition is not re-validated here). */
export interface StoredTariffVersion {
  readonly version: number;
  /** null for version 1: in force from the beginning. */
  readonly effectiveFrom: Date | null;
  readonly definition: unknown;
  readonly createdBy: string | null;
  readonly createdAt: Date;
}

export interface StoredTariff {
  readonly id: string;
  readonly name: string;
  readonly purse: Purse;
  readonly versions: readonly StoredTariffVersion[];
}

/** A tariff as the actors use it, or why it cannot price anything. */
export type LoadedTariff =
  | { readonly ok: true; readonly purse: Purse; readonly schedule: TariffSchedule }
  | { readonly ok: false; readonly purse: Purse; readonly problem: string };

/** Every tariff with its versions (or only `ids`), versions ascending. */
export async function listTariffs(db: Executor, ids?: readonly string[]): Promise<StoredTariff[]> {
  if (ids && ids.length === 0) return [];
  let tariffQuery = db.selectFrom('tariffs').select(['id', 'name', 'purse', 'definition', 'created_by', 'created_at']).orderBy('id');
  let versionQuery = db.selectFrom('tariff_versions').select(['tariff_id', 'version', 'effective_from', 'definition', 'created_by', 'created_at']).orderBy('tariff_id').orderBy('version');
  if (ids) {
    tariffQuery = tariffQuery.where('id', 'in', ids);
    versionQuery = versionQuery.where('tariff_id', 'in', ids);
  }
  const [tariffs, versions] = await Promise.all([tariffQuery.execute(), versionQuery.execute()]);
  const later = new Map<string, StoredTariffVersion[]>();
  for (const v of versions) {
    const list = later.get(v.tariff_id) ?? [];
    list.push({ version: v.version, effectiveFrom: new Date(v.effective_from), definition: v.definition, createdBy: v.created_by, createdAt: new Date(v.created_at) });
    later.set(v.tariff_id, list);
  }
  return tariffs.map((t) => ({
    id: t.id,
    name: t.name,
    purse: t.purse,
    versions: [{ version: 1, effectiveFrom: null, definition: t.definition, createdBy: t.created_by, createdAt: new Date(t.created_at) }, ...(later.get(t.id) ?? [])],
  }));
}

export async function findTariff(db: Executor, id: string): Promise<StoredTariff | undefined> {
  return (await listTariffs(db, [id]))[0];
}

/**
 * The tariffs as pricing schedules. A tariff with any version that fails validation cannot
 * price (`problem`): a meter it should price holds its billing with an alarm, never bills free.
 */
export async function loadTariffs(db: Executor): Promise<Map<string, LoadedTariff>> {
  const loaded = new Map<string, LoadedTariff>();
  for (const stored of await listTariffs(db)) loaded.set(stored.id, scheduleOf(stored));
  return loaded;
}

export function scheduleOf(stored: StoredTariff): LoadedTariff {
  const versions: TariffVersion[] = [];
  for (const v of stored.versions) {
    const checked = validateTariff(v.definition);
    if (!checked.ok) return { ok: false, purse: stored.purse, problem: `tariff ${stored.id} version ${v.version} is invalid: ${checked.field} ${checked.message}` };
    versions.push({ version: v.version, effectiveFrom: v.effectiveFrom?.getTime() ?? Number.MIN_SAFE_INTEGER, tariff: checked.tariff });
  }
  return { ok: true, purse: stored.purse, schedule: { tariffId: stored.id, versions } };
}

export async function insertTariff(db: Executor, tariff: { id: string; name: string; purse: Purse; definition: unknown; createdBy: string }): Promise<void> {
  await db.insertInto('tariffs').values({ id: tariff.id, name: tariff.name, purse: tariff.purse, definition: JSON.stringify(tariff.definition), created_by: tariff.createdBy }).execute();
}

export async function insertTariffVersion(db: Executor, version: { tariffId: string; version: number; effectiveFrom: Date; definition: unknown; createdBy: string }): Promise<void> {
  await db
    .insertInto('tariff_versions')
    .values({ tariff_id: version.tariffId, version: version.version, effective_from: version.effectiveFrom, definition: JSON.stringify(version.definition), created_by: version.createdBy })
    .execute();
}

export async function renameTariff(db: Executor, id: string, name: string): Promise<void> {
  await db.updateTable('tariffs').set({ name }).where('id', '=', id).execute();
}

/** Locks a tariff's row so two revisions cannot take the same version number. */
export async function lockTariff(db: Executor, id: string): Promise<{ id: string; purse: Purse } | undefined> {
  return db.selectFrom('tariffs').select(['id', 'purse']).where('id', '=', id).forUpdate().executeTakeFirst();
}

/** The dormitories this tariff prices (for its purse). */
export async function dormitoriesUsingTariff(db: Executor, id: string): Promise<string[]> {
  const rows = await db
    .selectFrom('dormitories')
    .select('id')
    .where((eb) => eb.or([eb('electricity_tariff_id', '=', id), eb('water_tariff_id', '=', id)]))
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Which dormitories an assignment names: a building (optionally one floor of it) or a list. */
export type DormitorySelector = { readonly building: string; readonly floor?: number | undefined } | { readonly dormitoryIds: readonly string[] };

export async function selectDormitories(db: Executor, selector: DormitorySelector): Promise<string[]> {
  let query = db.selectFrom('dormitories').select('id').orderBy('id');
  if ('dormitoryIds' in selector) {
    if (selector.dormitoryIds.length === 0) return [];
    query = query.where('id', 'in', selector.dormitoryIds);
  } else {
    query = query.where('building_id', '=', selector.building);
    if (selector.floor !== undefined) query = query.where('floor', '=', selector.floor);
  }
  return (await query.execute()).map((r) => r.id);
}

/** Sets the purse's tariff of these dormitories. */
export async function assignTariff(db: Executor, tariffId: string, purse: Purse, dormitoryIds: readonly string[]): Promise<void> {
  if (dormitoryIds.length === 0) return;
  const set = purse === 'electricity' ? { electricity_tariff_id: tariffId } : { water_tariff_id: tariffId };
  await db.updateTable('dormitories').set(set).where('id', 'in', dormitoryIds).execute();
}
