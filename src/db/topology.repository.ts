import { parseArrearsPolicy } from '../domain/arrears.ts';
import type { SupplyTarget } from '../domain/reading.ts';
import type { BillingCursor, MeterTariff } from '../domain/register-billing.ts';
import { REGISTER_HOLD_KINDS, TARIFF_INVALID_ALARM } from '../domain/register-hold.ts';
import { singleVersion, type TariffSchedule } from '../domain/gap-pricing.ts';
import { applyQuotaTopUp, type BillingState, type FreeQuotaPolicy } from '../domain/tariff.ts';
import { resolveRuleBook, type RuleBook } from '../domain/rules/rule-book.ts';
import type { MeterProfileName } from '../drivers/gateway-driver.ts';
import type { Executor } from './executor.ts';
import { loadTariffs } from './tariff.repository.ts';
import { ZoneRules, type TimeZone } from '../domain/local-time.ts';
import { isTimeZone } from '../domain/campus-settings.ts';
import { occupantStays, quotaPolicyOf } from './quota-policy.repository.ts';
import { lateQuotaGrantsOfDormitories } from './late-quota.repository.ts';

/** Everything the actor tree boots from, read in a handful of queries. */
export interface GatewayTopology {
  readonly id: string;
  readonly campusId: string;
  readonly protocol: 'modbus-tcp' | 'mqtt';
  readonly address: string;
  readonly settings: Record<string, unknown>;
}

export interface MeterTopology {
  readonly meterId: string;
  readonly kind: 'electric' | 'water';
  readonly gatewayId: string;
  readonly unitAddress: string;
  readonly profile: MeterProfileName;
  readonly targets: readonly SupplyTarget[];
  readonly pricing: MeterTariff;
  /** Why the dormitory's tariff cannot price this meter (then its billing is held), null when it can. */
  readonly tariffProblem: string | null;
  readonly cursor: BillingCursor | null;
  /** Kinds of this meter's active billing-hold alarms (register anomalies, an unusable tariff). */
  readonly activeHolds: readonly string[];
}

export interface DormitoryTopology {
  readonly id: string;
  readonly campusId: string;
  readonly building: string;
  readonly floor: number;
  readonly room: string;
  readonly balance: { electricity: number; water: number };
  /**
   * The last ledger entry each balance includes, read in the same statement (0: none). A credit
   * announced after the load carries its entry: one at or below this is already in the balance.
   * Per account, entry ids follow commit order (a posting locks the account row before it takes
   * an id, and holds the lock to commit).
   */
  readonly balanceThroughEntry: { electricity: number; water: number };
  readonly meters: readonly MeterTopology[];
  readonly holidayOff: boolean;
  /** Campus rule settings overridden by the building's. */
  readonly rules: RuleBook;
  /** Each purse's billing state as last committed (null: never billed). */
  readonly billing: { readonly electricity: BillingState | null; readonly water: BillingState | null };
}

export interface CampusPolicyTopology {
  readonly id: string;
  readonly utcOffsetMinutes: number;
  /** The campus's IANA zone (its rules, daylight saving included) for billing, else the fixed offset. */
  readonly zone: TimeZone;
  readonly arrears: ReturnType<typeof parseArrearsPolicy>;
  readonly waterArrearsCutsElectricity: boolean;
  /** The stored settings (semesters for quota periods). */
  readonly settings: Record<string, unknown>;
}

export interface CampusTopology {
  readonly campuses: ReadonlyMap<string, CampusPolicyTopology>;
  readonly gateways: readonly GatewayTopology[];
  readonly dormitories: readonly DormitoryTopology[];
}

/**
 * Stands in for a tariff that cannot be used. Never charged: a meter with a `tariffProblem`
 * holds its billing (readings kept, cursor not advanced) and raises a critical alarm.
 */
const UNPRICED: TariffSchedule = singleVersion({ kind: 'single', rate: 0 });
const HOLD_ALARM_KINDS: readonly string[] = [...REGISTER_HOLD_KINDS, TARIFF_INVALID_ALARM];

/** The switched outputs of each meter profile. */
export const SWITCHED_TARGETS: Readonly<Record<string, readonly SupplyTarget[]>> = {
  'campus-1in3out': ['lighting', 'socket', 'ac'],
  'acrel-ddsy1352': ['main'],
  sdm120: [],
  'water-valve': ['valve'],
};

export function campusPolicyOf(row: { id: string; utc_offset_minutes: number; time_zone?: string | null; settings: Record<string, unknown> }): CampusPolicyTopology {
  const arrearsSettings = (row.settings.arrears ?? {}) as Record<string, unknown>;
  return {
    id: row.id,
    utcOffsetMinutes: row.utc_offset_minutes,
    zone: row.time_zone && isTimeZone(row.time_zone) ? new ZoneRules(row.time_zone) : row.utc_offset_minutes,
    arrears: parseArrearsPolicy(arrearsSettings),
    waterArrearsCutsElectricity: arrearsSettings.waterArrearsCutsElectricity !== false,
    settings: row.settings,
  };
}

/**
 * A purse billed before its state was the dormitory's (each meter kept its own): the latest
 * month of its meters, their usage that month summed (the tier position), the least quota left
 * (no meter's separate grant is added) and that meter's carry.
 */
export function stateFromCursors(meters: readonly MeterTopology[]): BillingState | null {
  const states = meters.map((m) => m.cursor?.billing).filter((b): b is BillingState => b !== undefined && typeof b?.monthKey === 'string');
  if (states.length === 0) return null;
  const monthKey = states.map((b) => b.monthKey).sort().at(-1)!;
  const current = states.filter((b) => b.monthKey === monthKey);
  return {
    monthKey,
    monthUsage: current.reduce((sum, b) => sum + b.monthUsage, 0),
    freeRemaining: Math.min(...current.map((b) => b.freeRemaining)),
    carryMicro: current[0]!.carryMicro,
  };
}

/** Loads the topology of every dormitory (or only `dormitoryIds`). */
export async function loadTopology(db: Executor, dormitoryIds?: readonly string[]): Promise<CampusTopology> {
  const campuses = new Map((await db.selectFrom('campuses').select(['id', 'utc_offset_minutes', 'time_zone', 'settings']).execute()).map((c) => [c.id, campusPolicyOf(c)]));
  const gateways = (await db.selectFrom('gateways').select(['id', 'campus_id', 'protocol', 'address', 'settings']).orderBy('id').execute()).map((g) => ({
    id: g.id,
    campusId: g.campus_id,
    protocol: g.protocol,
    address: g.address,
    settings: g.settings,
  }));
  const tariffs = await loadTariffs(db);
  const pricingOf = (tariffId: string | null, purse: 'electricity' | 'water'): { schedule: TariffSchedule; problem: string | null } => {
    if (!tariffId) return { schedule: UNPRICED, problem: `no ${purse} tariff is assigned to the dormitory` };
    const found = tariffs.get(tariffId);
    if (!found) return { schedule: UNPRICED, problem: `tariff ${tariffId} does not exist` };
    if (!found.ok) return { schedule: UNPRICED, problem: found.problem };
    if (found.purse !== purse) return { schedule: UNPRICED, problem: `tariff ${tariffId} prices the ${found.purse} purse, not ${purse}` };
    return { schedule: found.schedule, problem: null };
  };
  const quotas = new Map((await db.selectFrom('free_quota_policies').select(['id', 'allowance', 'basis', 'period']).execute()).map((q) => [q.id, q]));

  let dormQuery = db
    .selectFrom('dormitories as d')
    .innerJoin('buildings as b', 'b.id', 'd.building_id')
    .select(['d.id', 'b.campus_id', 'd.building_id', 'd.floor', 'd.room', 'd.holiday_off', 'd.electricity_tariff_id', 'd.water_tariff_id', 'd.electricity_quota_id', 'd.water_quota_id']);
  if (dormitoryIds?.length) dormQuery = dormQuery.where('d.id', 'in', dormitoryIds);
  const dorms = dormitoryIds && dormitoryIds.length === 0 ? [] : await dormQuery.orderBy('d.id').execute();
  const ids = dorms.map((d) => d.id);
  const occupants = await occupantStays(db, ids);
  const quotaOf = (quotaId: string | null, campusId: string, dormitoryId: string): FreeQuotaPolicy | null => {
    const row = quotaId ? quotas.get(quotaId) : undefined;
    return row ? quotaPolicyOf(row, campuses.get(campusId)?.settings ?? {}, occupants.get(dormitoryId) ?? []) : null;
  };
  const [meters, accounts, cursors, holds, purseStates, lateGrants] = ids.length
    ? await Promise.all([
        db.selectFrom('meters').select(['id', 'dormitory_id', 'kind', 'gateway_id', 'unit_address', 'profile']).where('dormitory_id', 'in', ids).orderBy('id').execute(),
        db
          .selectFrom('accounts as a')
          .select(['a.dormitory_id', 'a.purse', 'a.balance'])
          .select((eb) => eb.selectFrom('ledger_entries as l').select((l) => l.fn.max('l.id').as('id')).whereRef('l.account_id', '=', 'a.id').as('through_entry'))
          .where('a.dormitory_id', 'in', ids)
          .execute(),
        db
          .selectFrom('billing_cursors as c')
          .innerJoin('meters as m', 'm.id', 'c.meter_id')
          .select(['c.meter_id', 'c.register', 'c.read_at', 'c.billing_state'])
          .where('m.dormitory_id', 'in', ids)
          .execute(),
        db.selectFrom('alarms').select(['meter_id', 'kind']).where('dormitory_id', 'in', ids).where('state', '=', 'active').where('kind', 'in', HOLD_ALARM_KINDS).execute(),
        db.selectFrom('purse_billing_states').select(['dormitory_id', 'purse', 'billing_state']).where('dormitory_id', 'in', ids).execute(),
        lateQuotaGrantsOfDormitories(db, ids),
      ])
    : [[], [], [], [], [], []];
  const purseStateOf = new Map(purseStates.map((p) => [`${p.dormitory_id}|${p.purse}`, p.billing_state as BillingState]));
  // A late occupant's allowance is committed with the purse's state, but a dormitory running at
  // the time may have committed its own state after it (before it learnt of it): the ledger
  // says what was granted, and each is added once (the state lists the students it holds).
  for (const g of lateGrants) {
    const key = `${g.dormitoryId}|${g.purse}`;
    const state = purseStateOf.get(key);
    const next = state ? applyQuotaTopUp(state, g) : null;
    if (next) purseStateOf.set(key, next);
  }
  const holdsOf = new Map<string, string[]>();
  for (const h of holds) if (h.meter_id) holdsOf.set(h.meter_id, [...(holdsOf.get(h.meter_id) ?? []), h.kind]);
  const cursorOf = new Map(cursors.map((c) => [c.meter_id, { register: c.register, readAt: new Date(c.read_at).getTime(), billing: c.billing_state as BillingState }]));
  const balances = new Map<string, { electricity: number; water: number }>();
  const throughEntries = new Map<string, { electricity: number; water: number }>();
  for (const a of accounts) {
    const b = balances.get(a.dormitory_id) ?? { electricity: 0, water: 0 };
    b[a.purse] = a.balance;
    balances.set(a.dormitory_id, b);
    const t = throughEntries.get(a.dormitory_id) ?? { electricity: 0, water: 0 };
    t[a.purse] = Number(a.through_entry ?? 0);
    throughEntries.set(a.dormitory_id, t);
  }
  const metersOf = new Map<string, MeterTopology[]>();
  const dormById = new Map(dorms.map((d) => [d.id, d]));
  for (const m of meters) {
    const d = dormById.get(m.dormitory_id)!;
    const campus = campuses.get(d.campus_id);
    const electric = m.kind === 'electric';
    const tariffId = electric ? d.electricity_tariff_id : d.water_tariff_id;
    const quotaId = electric ? d.electricity_quota_id : d.water_quota_id;
    const list = metersOf.get(m.dormitory_id) ?? [];
    const priced = pricingOf(tariffId, electric ? 'electricity' : 'water');
    list.push({
      meterId: m.id,
      kind: m.kind,
      gatewayId: m.gateway_id,
      unitAddress: m.unit_address,
      profile: m.profile as MeterProfileName,
      targets: SWITCHED_TARGETS[m.profile] ?? [],
      pricing: { schedule: priced.schedule, quota: quotaOf(quotaId, d.campus_id, d.id), zone: campus?.zone ?? 480 },
      tariffProblem: priced.problem,
      cursor: cursorOf.get(m.id) ?? null,
      activeHolds: holdsOf.get(m.id) ?? [],
    });
    metersOf.set(m.dormitory_id, list);
  }
  const layers = new Map<string, Record<string, unknown>>();
  for (const r of await db.selectFrom('rule_settings').select(['scope', 'scope_id', 'rule', 'config']).execute()) {
    const key = `${r.scope}:${r.scope_id}`;
    const layer = layers.get(key) ?? {};
    layer[r.rule] = r.config;
    layers.set(key, layer);
  }
  const books = new Map<string, RuleBook>();
  const bookOf = (campusId: string, buildingId: string): RuleBook => {
    const key = `${campusId}|${buildingId}`;
    let book = books.get(key);
    if (!book) {
      book = resolveRuleBook(layers.get(`campus:${campusId}`) ?? {}, layers.get(`building:${buildingId}`) ?? {});
      books.set(key, book);
    }
    return book;
  };
  return {
    campuses,
    gateways,
    dormitories: dorms.map((d) => ({
      holidayOff: d.holiday_off,
      rules: bookOf(d.campus_id, d.building_id),
      id: d.id,
      campusId: d.campus_id,
      building: d.building_id,
      floor: d.floor,
      room: d.room,
      balance: balances.get(d.id) ?? { electricity: 0, water: 0 },
      balanceThroughEntry: throughEntries.get(d.id) ?? { electricity: 0, water: 0 },
      meters: metersOf.get(d.id) ?? [],
      billing: {
        electricity: purseStateOf.get(`${d.id}|electricity`) ?? stateFromCursors((metersOf.get(d.id) ?? []).filter((m) => m.kind === 'electric')),
        water: purseStateOf.get(`${d.id}|water`) ?? stateFromCursors((metersOf.get(d.id) ?? []).filter((m) => m.kind === 'water')),
      },
    })),
  };
}
