/**
 * Pricing a register delta across the time it spans, pure.
 *
 * A delta is known only as "this many units between the last billed reading and this one".
 * When that span crosses a point where the price can change (a time-of-use period boundary, a
 * local midnight for periodic tariffs, a local month start for the free quota and the tier
 * position), the delta is spread over the pieces **linearly in time** and each piece is
 * charged at its own instant, in order, through `chargeUsage`. The pieces' usages are whole
 * base units that sum to the delta exactly (cumulative floor: piece i gets
 * floor(usage x t_i / T) - floor(usage x t_(i-1) / T)), so the total energy never changes;
 * only where it is priced does. A span that crosses nothing is one piece, priced at its start
 * (the instant the energy began to flow after the last billed reading).
 */
import { instantsOfWallTime, localToInstant, MS_PER_DAY, MS_PER_MINUTE, offsetAt, offsetTransitions, parseClockMinutes, toLocalTime, type TimeZone } from './local-time.ts';
import { dayAfter } from './quota.ts';
import { startOfLocalDay } from './settlement/local-day.ts';
import { chargeUsage, type BillingState, type ChargePart, type ChargeResult, type FreeQuotaPolicy, type QuotaLapse, type Tariff } from './tariff.ts';

/** One piece of a spread delta: `usage` base units priced at `at`. */
export interface UsagePiece {
  readonly at: number;
  readonly usage: number;
}

/** Local minutes of the day at which `tariff`'s price can change (besides month starts). */
function dailyCuts(tariff: Tariff): number[] {
  switch (tariff.kind) {
    case 'time_of_use':
      return tariff.periods.map((p) => parseClockMinutes(p.from)).filter((m): m is number => m !== null);
    case 'periodic':
      return [0];
    case 'single':
    case 'tiered':
      return [];
  }
}

/**
 * The instants strictly inside (fromMs, toMs) where the price of the next unit can change:
 * the tariff's daily cuts and every local month start (quota grant, tier reset), ascending.
 */
export function priceBoundaries(tariff: Tariff, fromMs: number, toMs: number, zone: TimeZone): number[] {
  if (toMs - fromMs <= 0) return [];
  const cuts = [...new Set(dailyCuts(tariff))].sort((a, b) => a - b);
  const out = new Set<number>();
  // Local days by their wall-clock midnight (written as UTC); each cut is a local wall time made an
  // instant in the zone, so a day of 23 or 25 hours (daylight saving) has its cuts where they fall.
  const firstDay = Math.floor((fromMs + offsetAt(zone, fromMs) * MS_PER_MINUTE) / MS_PER_DAY);
  const lastDay = Math.floor((toMs + offsetAt(zone, toMs) * MS_PER_MINUTE) / MS_PER_DAY);
  for (let day = firstDay; day <= lastDay; day++) {
    const localMidnight = day * MS_PER_DAY;
    const monthStart = toLocalTime(Math.max(0, localMidnight), 0).day === 1;
    const minutes = monthStart && cuts[0] !== 0 ? [0, ...cuts] : cuts;
    for (const minute of minutes) {
      const wall = localMidnight + minute * MS_PER_MINUTE;
      const instants = instantsOfWallTime(wall, zone);
      // A repeated wall time cuts at each occurrence; a skipped one at the switch that skips it.
      for (const at of instants.length > 0 ? instants : [localToInstant(wall, zone)]) if (at > fromMs && at < toMs) out.add(at);
    }
  }
  // Where the offset switches, the wall clock jumps: the price of the next unit may change there.
  for (const at of offsetTransitions(zone, fromMs, toMs)) out.add(at);
  return [...out].sort((a, b) => a - b);
}

/**
 * Spreads `usage` over [fromMs, toMs] linearly in time, cut at `boundaries` (ascending, inside
 * the span). Whole units, summing to `usage` exactly; an empty or inverted span is one piece
 * at max(fromMs, toMs).
 */
export function spreadLinearly(usage: number, fromMs: number, toMs: number, boundaries: readonly number[]): UsagePiece[] {
  const total = toMs - fromMs;
  if (total <= 0) return [{ at: Math.max(fromMs, toMs), usage }];
  if (boundaries.length === 0) return [{ at: fromMs, usage }];
  const pieces: UsagePiece[] = [];
  const big = BigInt(usage);
  const span = BigInt(total);
  let given = 0;
  let start = fromMs;
  for (const end of [...boundaries, toMs]) {
    const upTo = end === toMs ? usage : Number((big * BigInt(end - fromMs)) / span);
    pieces.push({ at: start, usage: upTo - given });
    given = upTo;
    start = end;
  }
  return pieces;
}

/** One version of a tariff: in force from `effectiveFrom` (epoch ms) until the next version's. */
export interface TariffVersion {
  readonly version: number;
  readonly effectiveFrom: number;
  readonly tariff: Tariff;
}

/**
 * A tariff with its versions, ascending by `effectiveFrom` (at least one). Before the first
 * version's date the first version applies (version 1 is in force from the beginning).
 */
export interface TariffSchedule {
  readonly tariffId: string | null;
  readonly versions: readonly TariffVersion[];
}

/** A schedule of one version in force forever (tests, and a tariff with no revisions). */
export function singleVersion(tariff: Tariff, tariffId: string | null = null): TariffSchedule {
  return { tariffId, versions: [{ version: 1, effectiveFrom: Number.MIN_SAFE_INTEGER, tariff }] };
}

/** The version in force at `at`. */
export function versionAt(schedule: TariffSchedule, at: number): TariffVersion {
  const versions = schedule.versions;
  if (versions.length === 0) throw new RangeError('a tariff schedule needs at least one version');
  let found = versions[0]!;
  for (const v of versions) if (v.effectiveFrom <= at) found = v;
  return found;
}

/**
 * The instants strictly inside (fromMs, toMs) where the price can change under a schedule:
 * each version's own boundaries inside the window it is in force, and each version's start.
 */
export function scheduleBoundaries(schedule: TariffSchedule, fromMs: number, toMs: number, zone: TimeZone): number[] {
  const cuts = new Set<number>();
  const versions = schedule.versions;
  for (let i = 0; i < versions.length; i++) {
    const start = i === 0 ? Number.MIN_SAFE_INTEGER : versions[i]!.effectiveFrom;
    const end = i + 1 < versions.length ? versions[i + 1]!.effectiveFrom : Number.MAX_SAFE_INTEGER;
    const lo = Math.max(fromMs, start);
    const hi = Math.min(toMs, end);
    if (hi <= lo) continue;
    if (start > fromMs && start < toMs) cuts.add(start);
    for (const at of priceBoundaries(versions[i]!.tariff, lo, hi, zone)) cuts.add(at);
  }
  return [...cuts].sort((a, b) => a - b);
}

/**
 * The instants strictly inside (fromMs, toMs) where a semester policy's quota period begins or
 * ends (a month policy's are month starts, already price boundaries).
 */
export function quotaBoundaries(quota: FreeQuotaPolicy | null, fromMs: number, toMs: number, zone: TimeZone): number[] {
  if (quota === null || (quota.period ?? 'month') !== 'semester' || toMs - fromMs <= 0) return [];
  const out: number[] = [];
  for (const semester of quota.semesters ?? []) {
    for (const day of [semester.from, dayAfter(semester.to)]) {
      const at = startOfLocalDay(day, zone);
      if (at > fromMs && at < toMs) out.push(at);
    }
  }
  return out.sort((a, b) => a - b);
}

/** Every instant strictly inside (fromMs, toMs) where a piece must be cut: price and quota-period boundaries, ascending. */
export function cutsInside(schedule: TariffSchedule, quota: FreeQuotaPolicy | null, fromMs: number, toMs: number, zone: TimeZone): number[] {
  const boundaries = scheduleBoundaries(schedule, fromMs, toMs, zone);
  const quotaCuts = quotaBoundaries(quota, fromMs, toMs, zone);
  return quotaCuts.length === 0 ? boundaries : [...new Set([...boundaries, ...quotaCuts])].sort((a, b) => a - b);
}

/** A stretch of time with no cut strictly inside it, for one schedule and zone (and a quota policy that cuts nothing). */
interface CutFreeWindow {
  readonly zone: TimeZone;
  readonly from: number;
  readonly until: number;
}

/** The same zone: the same offset, or the same IANA rules (one ZoneRules object per campus, or per dormitory). */
const sameZone = (a: TimeZone, b: TimeZone): boolean => a === b || (typeof a !== 'number' && typeof b !== 'number' && a.name === b.name);

/** A semester policy cuts at its semesters' bounds (`quotaBoundaries`); a month policy's cuts are month starts, which are price boundaries. */
const quotaCuts = (quota: FreeQuotaPolicy | null): boolean => quota !== null && (quota.period ?? 'month') === 'semester';

/** How far ahead a cut-free window is looked for (a reading's span is about a second). */
const WINDOW_LOOKAHEAD_MS = 6 * 3_600_000;
const NO_CUTS: readonly number[] = Object.freeze([]);
const cutFreeWindows = new WeakMap<TariffSchedule, CutFreeWindow>();

/**
 * `cutsInside`, remembering per schedule the last stretch found to have no cut inside it. Nearly
 * every reading's span (a second or so, from its meter's last billed reading) lies inside the
 * stretch the previous reading of any meter on that tariff found, and is answered without
 * walking local days, time-of-use cuts and zone transitions again (that walk was a tenth of the
 * server's allocation per reading). Same answer as `cutsInside`: a span inside a window with no
 * cut strictly inside has none strictly inside itself. test/domain/cut-free-window.property.test.ts
 * compares them.
 */
export function spanCuts(schedule: TariffSchedule, quota: FreeQuotaPolicy | null, fromMs: number, toMs: number, zone: TimeZone): readonly number[] {
  if (toMs - fromMs <= 0) return NO_CUTS;
  // A semester policy is per dormitory (its occupants' dates): those spans are walked each time.
  if (quotaCuts(quota)) return cutsInside(schedule, quota, fromMs, toMs, zone);
  const window = cutFreeWindows.get(schedule);
  if (window !== undefined && window.from <= fromMs && toMs <= window.until && sameZone(window.zone, zone)) return NO_CUTS;
  const cuts = cutsInside(schedule, null, fromMs, toMs, zone);
  if (cuts.length > 0) return cuts;
  // None inside this span: the window runs from its start to the first cut after it.
  const ahead = cutsInside(schedule, null, fromMs, toMs + WINDOW_LOOKAHEAD_MS, zone);
  cutFreeWindows.set(schedule, { zone, from: fromMs, until: ahead[0] ?? toMs + WINDOW_LOOKAHEAD_MS });
  return NO_CUTS;
}

/**
 * Charges `usage` that accumulated between `fromMs` (the last billed reading) and `toMs`,
 * spread linearly over the price boundaries it crosses (those of every tariff version in
 * force during the span, and the versions' own starts). Each piece is priced by the version
 * in force at its start, and its parts carry that version. The result has the shape of one
 * `chargeUsage` call: amounts, free usage and grants summed, parts in billing order, the
 * state after the last piece.
 */
export function chargeAcrossSchedule(
  schedule: TariffSchedule,
  quota: FreeQuotaPolicy | null,
  state: BillingState,
  usage: number,
  fromMs: number,
  toMs: number,
  zone: TimeZone,
): ChargeResult {
  const pieces = spreadLinearly(usage, fromMs, toMs, spanCuts(schedule, quota, fromMs, toMs, zone));
  let amount = 0;
  let freeUsed = 0;
  let billedUsage = 0;
  let quotaGranted = 0;
  const quotaLapsed: QuotaLapse[] = [];
  const parts: ChargePart[] = [];
  let current = state;
  for (const piece of pieces) {
    const version = versionAt(schedule, piece.at);
    const charged = chargeUsage(version.tariff, quota, current, piece.usage, piece.at, zone);
    amount += charged.amount;
    freeUsed += charged.freeUsed;
    billedUsage += charged.billedUsage;
    quotaGranted += charged.quotaGranted;
    quotaLapsed.push(...charged.quotaLapsed);
    for (const part of charged.parts) parts.push({ ...part, version: version.version });
    current = charged.state;
  }
  return { amount, freeUsed, billedUsage, parts, state: current, quotaGranted, quotaLapsed };
}

/** `chargeAcrossSchedule` for one tariff in force over the whole span. */
export function chargeAcrossSpan(
  tariff: Tariff,
  quota: FreeQuotaPolicy | null,
  state: BillingState,
  usage: number,
  fromMs: number,
  toMs: number,
  zone: TimeZone,
): ChargeResult {
  return chargeAcrossSchedule(singleVersion(tariff), quota, state, usage, fromMs, toMs, zone);
}
