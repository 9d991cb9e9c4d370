/**
 * Free quota policies, pure: how much is granted, for which period, and when it lapses.
 *
 * A policy grants `allowance` base units (Wh, litres) per period to a dormitory's purse:
 * - basis `per-dormitory`: the allowance once per room; `per-occupant`: the allowance times the
 *   occupants present at grant time (a room with nobody in it is granted nothing, and the period
 *   stays open for a grant once someone checks in);
 * - period `month` (local calendar months) or `semester` (the campus's semesters, local days
 *   `from`..`to` inclusive; outside every semester nothing is granted).
 * A period is granted once (idempotent: the purse's state records the period it holds), at the
 * first usage priced in it or when the office issues it. Unused quota lapses when its period
 * ends (its last local day is over): the lapse is reported, never dropped silently.
 *
 * Days are local 'YYYY-MM-DD' text, which sorts in calendar order.
 */
import type { LocalTime } from './local-time.ts';

export type QuotaBasis = 'per-dormitory' | 'per-occupant';
export type QuotaPeriodKind = 'month' | 'semester';

export const QUOTA_BASES: readonly QuotaBasis[] = ['per-dormitory', 'per-occupant'];
export const QUOTA_PERIODS: readonly QuotaPeriodKind[] = ['month', 'semester'];

/** A semester of a campus: local days, both inclusive. */
export interface Semester {
  readonly id: string;
  readonly from: string;
  readonly to: string;
}

export interface FreeQuotaPolicy {
  /** Base units granted per period (per occupant for a per-occupant policy). */
  readonly allowance: number;
  /** Default `per-dormitory`. */
  readonly basis?: QuotaBasis;
  /** Default `month`. */
  readonly period?: QuotaPeriodKind;
  /** The campus's semesters (a `semester` policy grants only inside one). */
  readonly semesters?: readonly Semester[];
  /** Occupants of the room now (a `per-occupant` policy multiplies by it). */
  readonly occupants?: number;
  /** Those occupants' open stays (occupancy ids), when known: a per-occupant grant records them. */
  readonly stays?: readonly number[];
}

/** A quota period: local days [from, until). `label` is the month ('YYYY-MM') or the semester id. */
export interface QuotaPeriod {
  readonly from: string;
  readonly until: string;
  readonly label: string;
}

/** The quota a purse holds: the period it was granted for, what was granted and what is left. */
export interface QuotaHolding {
  readonly quotaFrom: string;
  readonly quotaUntil: string;
  readonly freeGranted: number;
  readonly freeRemaining: number;
  /** What lapsed of that grant when its period ended (so used = granted - remaining - lapsed). */
  readonly freeLapsed: number;
}

/** No period granted yet: '' sorts before every day, so any period may be granted. */
export const NO_QUOTA_PERIOD = '';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function dayKeyOf(local: Pick<LocalTime, 'year' | 'month' | 'day'>): string {
  return `${pad(local.year, 4)}-${pad(local.month)}-${pad(local.day)}`;
}

/** The month of a local time as a quota period. */
export function monthPeriodOf(year: number, month: number): QuotaPeriod {
  const next = month === 12 ? { year: year + 1, month: 1 } : { year, month: month + 1 };
  return { from: `${pad(year, 4)}-${pad(month)}-01`, until: `${pad(next.year, 4)}-${pad(next.month)}-01`, label: `${pad(year, 4)}-${pad(month)}` };
}

/** The day after a local day 'YYYY-MM-DD' (calendar arithmetic, no time zone). */
export function dayAfter(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return `${pad(next.getUTCFullYear(), 4)}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}`;
}

/** The policy's period containing `local`, or null (no policy, or a semester policy between semesters). */
export function quotaPeriodAt(policy: FreeQuotaPolicy | null, local: LocalTime): QuotaPeriod | null {
  if (policy === null) return null;
  if ((policy.period ?? 'month') === 'month') return monthPeriodOf(local.year, local.month);
  const day = dayKeyOf(local);
  const semester = (policy.semesters ?? []).find((s) => s.from <= day && day <= s.to);
  return semester ? { from: semester.from, until: dayAfter(semester.to), label: semester.id } : null;
}

/** What one grant of the policy gives the room now. */
export function grantSize(policy: FreeQuotaPolicy): number {
  return (policy.basis ?? 'per-dormitory') === 'per-occupant' ? policy.allowance * Math.max(0, policy.occupants ?? 0) : policy.allowance;
}

export interface QuotaRoll {
  readonly holding: QuotaHolding;
  /** Granted now (0: nothing). */
  readonly granted: number;
  /** Lapsed now: the unused quota of a period that ended (or was replaced by a new one). */
  readonly lapsed: number;
  /** The period that lapsed (its [from, until)), when something lapsed. */
  readonly lapsedPeriod: { readonly from: string; readonly until: string } | null;
  /** The period granted, when something was. */
  readonly grantedPeriod: QuotaPeriod | null;
}

/**
 * Moves a purse's quota to the local time `local`: unused quota of a period that is over lapses;
 * a period of the policy not yet granted is granted (when its grant is more than nothing).
 * A time earlier than the holding's period changes nothing (a late reading is never a new grant).
 * `grant: false` only lapses (an expiry check that must not grant).
 */
export function rollQuota(policy: FreeQuotaPolicy | null, holding: QuotaHolding, local: LocalTime, grant = true): QuotaRoll {
  const day = dayKeyOf(local);
  let { quotaFrom, quotaUntil, freeGranted, freeRemaining, freeLapsed } = holding;
  let lapsed = 0;
  let lapsedPeriod: QuotaRoll['lapsedPeriod'] = null;
  let granted = 0;
  let grantedPeriod: QuotaPeriod | null = null;
  const lapse = () => {
    if (freeRemaining > 0) {
      lapsed += freeRemaining;
      freeLapsed += freeRemaining;
      lapsedPeriod = { from: quotaFrom, until: quotaUntil };
    }
    freeRemaining = 0;
  };
  if (day >= quotaUntil) lapse();
  const period = grant ? quotaPeriodAt(policy, local) : null;
  const size = period && policy ? grantSize(policy) : 0;
  if (period !== null && period.from > quotaFrom && size > 0) {
    lapse();
    quotaFrom = period.from;
    quotaUntil = period.until;
    freeGranted = size;
    freeRemaining = size;
    freeLapsed = 0;
    granted = size;
    grantedPeriod = period;
  }
  return { holding: { quotaFrom, quotaUntil, freeGranted, freeRemaining, freeLapsed }, granted, lapsed, lapsedPeriod, grantedPeriod };
}

/**
 * When a quota period ending at `endAt` (the start of its end day, epoch ms) is next due to
 * lapse, seen at `now`: at its end while that is ahead; at once when it is past and units are
 * still unlapsed (a server that was down, a late timer); never (null) when it is past and
 * nothing is left, since the lapse has happened and only the next grant starts a new period.
 * Without that last case the expiry timer would re-arm every millisecond from the period's end
 * until the dormitory's next reading (or, between two semesters, for weeks).
 */
export function quotaLapseDueAt(endAt: number, freeRemaining: number, now: number): number | null {
  if (endAt > now) return endAt;
  return freeRemaining > 0 ? now : null;
}

/**
 * A late occupant's share of a per-occupant allowance: the student moved in on `day` after the
 * period [from, until) was granted, so they get the allowance times the days left in the period
 * (`day` included) over the period's days, rounded down to whole base units (never more than
 * the allowance; a day before the period counts as its first day, a day at or after its end
 * gets nothing). Local calendar days, so a 23- or 25-hour day of a daylight saving switch is one day.
 */
export function proRataAllowance(allowance: number, period: { readonly from: string; readonly until: string }, day: string): number {
  const days = dayIndex(period.until) - dayIndex(period.from);
  if (days <= 0 || allowance <= 0) return 0;
  const left = Math.min(days, Math.max(0, dayIndex(period.until) - dayIndex(day < period.from ? period.from : day)));
  // Integer arithmetic: allowances are at most 2^31 and periods a few hundred days, far below 2^53.
  return Math.floor((allowance * left) / days);
}

/** Days since 1970-01-01 of a local day 'YYYY-MM-DD' (calendar arithmetic, no time zone). */
function dayIndex(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return Math.round(Date.UTC(y, m - 1, d) / 86_400_000);
}

export type SemestersCheck = { ok: true; semesters: Semester[] } | { ok: false; field: string; message: string };

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const SEMESTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_SEMESTERS = 40;

function isDay(value: unknown): value is string {
  if (typeof value !== 'string' || !DAY.test(value)) return false;
  const [y, m, d] = value.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * Checks a campus's semesters: each `{id, from, to}` with real local days, from <= to, ids
 * unique, no two overlapping (a day belongs to one semester at most). Returned sorted by `from`.
 */
export function validateSemesters(value: unknown): SemestersCheck {
  if (!Array.isArray(value) || value.length > MAX_SEMESTERS) return { ok: false, field: 'semesters', message: `must be an array of at most ${MAX_SEMESTERS} semesters` };
  const out: Semester[] = [];
  for (const [i, s] of value.entries()) {
    const field = `semesters[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return { ok: false, field, message: 'must be {id, from, to}' };
    const { id, from, to, ...rest } = s as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) return { ok: false, field: `${field}.${extra}`, message: 'is not a semester field (id, from, to)' };
    if (typeof id !== 'string' || !SEMESTER_ID.test(id)) return { ok: false, field: `${field}.id`, message: 'must be 1..64 letters, digits, . _ -' };
    if (!isDay(from)) return { ok: false, field: `${field}.from`, message: 'must be a calendar day YYYY-MM-DD' };
    if (!isDay(to)) return { ok: false, field: `${field}.to`, message: 'must be a calendar day YYYY-MM-DD' };
    if (to < from) return { ok: false, field: `${field}.to`, message: 'must not be before from' };
    if (out.some((o) => o.id === id)) return { ok: false, field: `${field}.id`, message: `semester ${id} is listed twice` };
    out.push({ id, from, to });
  }
  const sorted = [...out].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.from <= sorted[i - 1]!.to) {
      const index = out.indexOf(sorted[i]!);
      return { ok: false, field: `semesters[${index}].from`, message: `overlaps semester ${sorted[i - 1]!.id}` };
    }
  }
  return { ok: true, semesters: sorted };
}
