import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database, Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import {
  assignTariff,
  dormitoriesUsingTariff,
  findTariff,
  insertTariff,
  insertTariffVersion,
  lockTariff,
  renameTariff,
  scheduleOf,
  selectDormitories,
  type DormitorySelector,
  type StoredTariff,
} from '../db/tariff.repository.ts';
import { versionAt } from '../domain/gap-pricing.ts';
import { validateTariff, type Tariff } from '../domain/tariff.ts';
import { DomainError } from '../errors.ts';

/** What the tariff use cases need of the running actors (CampusRuntime). */
export interface TariffRuntime {
  /** The tariffs of these dormitories changed (a new version): the live meters price with it from its date. */
  pricingChanged(dormitoryIds: readonly string[]): Promise<void>;
  /** These dormitories were given another tariff: they are rebuilt from the database. */
  reloadDormitory(id: string): Promise<boolean>;
}

export interface TariffDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly runtime: TariffRuntime;
}

/** A tariff as the API shows it: every version, and the one in force now. */
export interface TariffView {
  readonly id: string;
  readonly name: string;
  readonly purse: Purse;
  readonly currentVersion: number;
  readonly versions: readonly { version: number; effectiveFrom: string | null; definition: unknown; createdBy: string | null; createdAt: string }[];
}

export function tariffView(stored: StoredTariff, now: number): TariffView {
  const loaded = scheduleOf(stored);
  const current = loaded.ok ? versionAt(loaded.schedule, now).version : stored.versions.filter((v) => v.effectiveFrom === null || v.effectiveFrom.getTime() <= now).at(-1)!.version;
  return {
    id: stored.id,
    name: stored.name,
    purse: stored.purse,
    currentVersion: current,
    versions: stored.versions.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom?.toISOString() ?? null, definition: v.definition, createdBy: v.createdBy, createdAt: v.createdAt.toISOString() })),
  };
}

/** A tariff definition from a request, or a 400 naming the offending field inside `definition`. */
export function checkedDefinition(definition: unknown, field = 'definition'): Tariff {
  const checked = validateTariff(definition);
  if (!checked.ok) throw new DomainError('INVALID_TARIFF', `${checked.field || 'definition'}: ${checked.message}`, checked.field ? `${field}.${checked.field}` : field);
  return checked.tariff;
}

export async function getTariff(db: Executor, clock: Clock, id: string): Promise<TariffView> {
  const stored = await findTariff(db, id);
  if (!stored) throw new DomainError('NOT_FOUND', `tariff ${id} does not exist`, 'id');
  return tariffView(stored, clock.now());
}

export async function createTariff(deps: TariffDeps, input: { id: string; name: string; purse: Purse; definition: unknown }, operator: string): Promise<TariffView> {
  const tariff = checkedDefinition(input.definition);
  await deps.db.transaction().execute(async (trx) => {
    if (await findTariff(trx, input.id)) throw new DomainError('ALREADY_EXISTS', `tariff ${input.id} already exists`, 'id');
    await insertTariff(trx, { id: input.id, name: input.name, purse: input.purse, definition: tariff, createdBy: operator });
    await appendAudit(trx, { operator, action: 'tariff.create', targetType: 'tariff', targetId: input.id, details: { name: input.name, purse: input.purse, definition: tariff } });
  });
  return getTariff(deps.db, deps.clock, input.id);
}

/**
 * A new version of a tariff, in force from `effectiveFrom`. Versions are kept; a version takes
 * effect no earlier than now (what is billed is never re-priced) and after the latest version.
 * The live meters get the new schedule at once and switch at its date on the clock.
 */
export async function reviseTariff(deps: TariffDeps, id: string, input: { definition: unknown; effectiveFrom: string; name?: string | undefined }, operator: string): Promise<TariffView> {
  const tariff = checkedDefinition(input.definition);
  const effectiveFrom = Date.parse(input.effectiveFrom);
  if (!Number.isFinite(effectiveFrom)) throw new DomainError('VALIDATION_FAILED', 'effectiveFrom must be an ISO 8601 date-time', 'effectiveFrom');
  if (effectiveFrom < deps.clock.now()) throw new DomainError('DATE_NOT_ALLOWED', 'a tariff version cannot take effect in the past (consumption already billed is not re-priced; dry-run it instead)', 'effectiveFrom');
  const version = await deps.db.transaction().execute(async (trx) => {
    if (!(await lockTariff(trx, id))) throw new DomainError('NOT_FOUND', `tariff ${id} does not exist`, 'id');
    const stored = (await findTariff(trx, id))!;
    const latest = stored.versions.at(-1)!;
    if (latest.effectiveFrom !== null && effectiveFrom <= latest.effectiveFrom.getTime()) {
      throw new DomainError('DATE_NOT_ALLOWED', `effectiveFrom must be after version ${latest.version}'s (${latest.effectiveFrom.toISOString()})`, 'effectiveFrom');
    }
    const next = latest.version + 1;
    await insertTariffVersion(trx, { tariffId: id, version: next, effectiveFrom: new Date(effectiveFrom), definition: tariff, createdBy: operator });
    if (input.name !== undefined) await renameTariff(trx, id, input.name);
    await appendAudit(trx, { operator, action: 'tariff.revise', targetType: 'tariff', targetId: id, details: { version: next, effectiveFrom: new Date(effectiveFrom).toISOString(), definition: tariff, ...(input.name === undefined ? {} : { name: input.name }) } });
    return next;
  });
  await deps.runtime.pricingChanged(await dormitoriesUsingTariff(deps.db, id));
  const view = await getTariff(deps.db, deps.clock, id);
  return { ...view, versions: view.versions.filter((v) => v.version <= version) };
}

/**
 * Gives a tariff to dormitories: a building, one floor of it, or a list. The tariff's purse
 * decides which of the dormitory's tariffs it replaces, so a tariff never prices the other
 * purse's meters. Audited; the dormitories are rebuilt live (their pending charges committed first).
 */
export async function assignTariffTo(deps: TariffDeps, id: string, selector: DormitorySelector, operator: string): Promise<{ tariffId: string; purse: Purse; dormitoryIds: string[] }> {
  const { purse, dormitoryIds } = await deps.db.transaction().execute(async (trx) => {
    const stored = await findTariff(trx, id);
    if (!stored) throw new DomainError('NOT_FOUND', `tariff ${id} does not exist`, 'id');
    const loaded = scheduleOf(stored);
    if (!loaded.ok) throw new DomainError('TARIFF_INVALID', loaded.problem, 'id');
    if ('building' in selector && !(await trx.selectFrom('buildings').select('id').where('id', '=', selector.building).executeTakeFirst())) {
      throw new DomainError('BUILDING_NOT_FOUND', `building ${selector.building} does not exist`, 'building');
    }
    const ids = await selectDormitories(trx, selector);
    if ('dormitoryIds' in selector) {
      const missing = [...new Set(selector.dormitoryIds)].filter((d) => !ids.includes(d));
      if (missing.length) throw new DomainError('DORMITORY_NOT_FOUND', `dormitories do not exist: ${missing.slice(0, 10).join(', ')}`, 'dormitoryIds');
    }
    if (ids.length === 0) throw new DomainError('DORMITORY_NOT_FOUND', 'no dormitory matches the assignment', 'floor' in selector && selector.floor !== undefined ? 'floor' : 'building');
    await assignTariff(trx, id, stored.purse, ids);
    await appendAudit(trx, { operator, action: 'tariff.assign', targetType: 'tariff', targetId: id, details: { purse: stored.purse, selector, dormitories: ids.length } });
    return { purse: stored.purse, dormitoryIds: ids };
  });
  for (const dormitoryId of dormitoryIds) await deps.runtime.reloadDormitory(dormitoryId);
  return { tariffId: id, purse, dormitoryIds };
}

/** A dormitory's tariff reference on create: it must exist and price the purse it is given for. */
export async function assertTariffForPurse(db: Executor, tariffId: string, purse: Purse, field: string): Promise<void> {
  const stored = await findTariff(db, tariffId);
  if (!stored) throw new DomainError('VALIDATION_FAILED', `tariff ${tariffId} does not exist`, field);
  if (stored.purse !== purse) throw new DomainError('VALIDATION_FAILED', `tariff ${tariffId} prices the ${stored.purse} purse, not ${purse}`, field);
}
