/**
 * Register billing against an independent oracle. A meter sends a sequence of cumulative
 * register readings with gaps of a second to two days; the engine (billRegister: plausibility,
 * gap pricing across periods and months, quota, tiers, carry) bills them one by one. The oracle
 * prices the same energy without the engine's code: it walks every local minute of every span
 * (from the last reading that moved the register to the next that does),
 * gives each minute its linear share of the gap's energy (cumulative floor), looks the minute's
 * rate up in its own table from Date's UTC getters, consumes quota and tiers unit by unit in
 * BigInt, and rounds once at the end. The documented rules (docs/billing.md) say both must agree
 * to the fen.
 */
import t from 'tap';
import fc from 'fast-check';
import { singleVersion } from '../../src/domain/gap-pricing.ts';
import { ELECTRIC_LIMITS, type BillingCursor, type MeterTariff } from '../../src/domain/register-billing.ts';
import { billRegister } from '../helpers/bill-register.ts';
import type { Tariff } from '../../src/domain/tariff.ts';
import { localMonthKey, ZoneRules, type TimeZone } from '../../src/domain/local-time.ts';

const MINUTE = 60_000;

// ---------- the oracle ----------

interface OracleTariff {
  /** Rate (milli-fen per kWh) of the minute starting at local `minuteOfDay`, month 1..12, weekday 0..6. */
  rateOf(minuteOfDay: number, month: number, weekday: number): number;
  /** Tier table [upTo | null, rate][] or null when the tariff is not tiered. */
  tiers: Array<[number | null, number]> | null;
}

/** The oracle's own wall clock of an IANA zone: Intl's calendar fields, read per minute (no offset arithmetic). */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();
function wallClockOf(ms: number, zone: string) {
  let format = zoneFormats.get(zone);
  if (!format) zoneFormats.set(zone, (format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' })));
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const month = Number(parts.month);
  return { monthKey: Number(parts.year) * 100 + month, month, weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!), minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute) };
}

function localParts(ms: number, offsetMinutes: number | string) {
  if (typeof offsetMinutes === 'string') return wallClockOf(ms, offsetMinutes);
  const d = new Date(ms + offsetMinutes * MINUTE);
  return {
    monthKey: d.getUTCFullYear() * 100 + d.getUTCMonth() + 1,
    month: d.getUTCMonth() + 1,
    weekday: d.getUTCDay(),
    minuteOfDay: d.getUTCHours() * 60 + d.getUTCMinutes(),
  };
}

function oracleTariffOf(spec: TariffSpec): OracleTariff {
  switch (spec.kind) {
    case 'single':
      return { rateOf: () => spec.rate, tiers: null };
    case 'tou': {
      const cuts = [...spec.cuts].sort((a, b) => a - b);
      return {
        rateOf: (minute) => {
          let index = cuts.length - 1; // before the first cut: the period that spans midnight
          for (let i = 0; i < cuts.length; i++) if (cuts[i]! <= minute) index = i;
          return spec.rates[index]!;
        },
        tiers: null,
      };
    }
    case 'weekend':
      return { rateOf: (_m, _month, weekday) => (weekday === 0 || weekday === 6 ? spec.weekendRate : spec.rate), tiers: null };
    case 'tiered': {
      const bounds = [...spec.bounds].sort((a, b) => a - b);
      return { rateOf: () => 0, tiers: [...bounds.map((b, i): [number, number] => [b, spec.rates[i]!]), [null, spec.rates[bounds.length]!]] };
    }
  }
}

interface OracleResult { micro: bigint; freeUsed: number; monthUsage: number; freeRemaining: number }

function oracle(spec: TariffSpec, allowance: number | null, offset: number | string, readings: ReadonlyArray<{ at: number; register: number }>): OracleResult {
  const tariff = oracleTariffOf(spec);
  let micro = 0n;
  let freeUsedTotal = 0;
  let monthKey = localParts(readings[0]!.at, offset).monthKey;
  let monthUsage = 0;
  let freeRemaining = allowance ?? 0;
  let moved = readings[0]!; // the last reading that moved the register: where a delta's span starts
  for (let r = 1; r < readings.length; r++) {
    if (readings[r]!.register === moved.register) continue;
    const a = moved.at;
    const b = readings[r]!.at;
    const usage = BigInt(readings[r]!.register - moved.register);
    moved = readings[r]!;
    const span = BigInt(b - a);
    const share = (x: number): number => Number((usage * BigInt(x - a)) / span); // cumulative floor
    let sliceStart = a;
    while (sliceStart < b) {
      const nextMinute = (Math.floor(sliceStart / MINUTE) + 1) * MINUTE;
      const sliceEnd = Math.min(nextMinute, b);
      const units = (sliceEnd === b ? Number(usage) : share(sliceEnd)) - share(sliceStart);
      const local = localParts(sliceStart, offset);
      if (local.monthKey > monthKey) {
        monthKey = local.monthKey;
        monthUsage = 0;
        freeRemaining = allowance ?? 0;
      }
      const free = Math.min(units, freeRemaining);
      freeRemaining -= free;
      freeUsedTotal += free;
      let billed = units - free;
      let position = monthUsage + free;
      if (tariff.tiers) {
        for (const [upTo, rate] of tariff.tiers) {
          if (billed === 0) break;
          if (upTo !== null && position >= upTo) continue;
          const here = upTo === null ? billed : Math.min(billed, upTo - position);
          micro += BigInt(here) * BigInt(rate);
          billed -= here;
          position += here;
        }
      } else {
        micro += BigInt(billed) * BigInt(tariff.rateOf(local.minuteOfDay, local.month, local.weekday));
      }
      monthUsage += units;
      sliceStart = sliceEnd;
    }
  }
  // The standing as of the last reading: a month that began since is a fresh month.
  if (localParts(readings[readings.length - 1]!.at, offset).monthKey > monthKey) return { micro, freeUsed: freeUsedTotal, monthUsage: 0, freeRemaining: allowance ?? 0 };
  return { micro, freeUsed: freeUsedTotal, monthUsage, freeRemaining };
}

// ---------- the engine's inputs ----------

type TariffSpec =
  | { kind: 'single'; rate: number }
  | { kind: 'tou'; cuts: number[]; rates: number[] }
  | { kind: 'weekend'; rate: number; weekendRate: number }
  | { kind: 'tiered'; bounds: number[]; rates: number[] };

const hhmm = (minute: number): string => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

function engineTariffOf(spec: TariffSpec): Tariff {
  switch (spec.kind) {
    case 'single':
      return { kind: 'single', rate: spec.rate };
    case 'tou': {
      const cuts = [...spec.cuts].sort((a, b) => a - b);
      return { kind: 'time_of_use', periods: cuts.map((from, i) => ({ name: `p${i}`, from: hhmm(from), to: hhmm(cuts[(i + 1) % cuts.length]!), rate: spec.rates[i]! })) };
    }
    case 'weekend':
      return { kind: 'periodic', rates: [{ weekdays: [0, 6], rate: spec.weekendRate, name: 'weekend' }], defaultRate: spec.rate };
    case 'tiered': {
      const bounds = [...spec.bounds].sort((a, b) => a - b);
      return { kind: 'tiered', tiers: [...bounds.map((upTo, i) => ({ upTo, rate: spec.rates[i]! })), { upTo: null, rate: spec.rates[bounds.length]! }] };
    }
  }
}

const rateArb = fc.integer({ min: 0, max: 2_000_000 });
const tariffArb: fc.Arbitrary<TariffSpec> = fc.oneof(
  rateArb.map((rate): TariffSpec => ({ kind: 'single', rate })),
  fc.record({ cuts: fc.uniqueArray(fc.integer({ min: 0, max: 1439 }), { minLength: 1, maxLength: 5 }), rates: fc.array(rateArb, { minLength: 5, maxLength: 5 }) }).map((x): TariffSpec => ({ kind: 'tou', ...x })),
  fc.record({ rate: rateArb, weekendRate: rateArb }).map((x): TariffSpec => ({ kind: 'weekend', ...x })),
  fc.record({ bounds: fc.uniqueArray(fc.integer({ min: 1, max: 200_000 }), { maxLength: 3 }), rates: fc.array(rateArb, { minLength: 4, maxLength: 4 }) }).map((x): TariffSpec => ({ kind: 'tiered', ...x })),
);
/** Gaps: mostly a poll interval, sometimes an outage of hours or days (whole or odd milliseconds). */
const gapArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 120_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 120_000, max: 6 * 3_600_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 6 * 3_600_000, max: 2 * 86_400_000 }) },
);
/** A usage as a fraction (per mille) of the most that is plausible over the gap. */
const stepArb = fc.record({ gap: gapArb, perMille: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })) });
/** Any time, or within a day and a half before a daylight saving switch (Berlin, New York, Lord Howe's half hour, 2026). */
const SWITCHES = ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z', '2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z'].map(Date.parse);
const startArb = fc.oneof(
  fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') }),
  fc.tuple(fc.constantFrom(...SWITCHES), fc.integer({ min: 0, max: 36 * 3_600_000 })).map(([at, before]) => at - before),
);

/** The most a 30 kW supply + 1 kWh slack may advance over `gapMs`, computed here, not by the engine. */
const plausibleMax = (gapMs: number): number => Math.floor((30_000 * Math.max(gapMs, 1_000)) / 3_600_000) + 1_000;

const zoneRules = new Map<string, ZoneRules>();
const zoneOf = (zone: number | string): TimeZone => (typeof zone === 'number' ? zone : (zoneRules.get(zone) ?? zoneRules.set(zone, new ZoneRules(zone)).get(zone)!));

t.test('billing a register sequence equals an independent minute-by-minute pricing', async (t) => {
  fc.assert(
    fc.property(
      tariffArb,
      fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
      // Fixed offsets, and IANA zones with daylight saving time (their switch days are among the starts below).
      fc.constantFrom<number | string>(480, 0, -300, 330, 840, 345, -600, 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'),
      startArb,
      fc.integer({ min: 0, max: 1_000_000_000 }),
      fc.array(stepArb, { minLength: 1, maxLength: 6 }),
      (spec, allowance, offset, start, opening, steps) => checkAgainstOracle(spec, allowance, offset, start, opening, steps),
    ),
    { numRuns: 250 },
  );
  t.pass('250 generated register sequences agree with the oracle');
});

t.test('daylight saving switch days: time-of-use cuts in the skipped and the repeated hour', async (t) => {
  // Every run spans a switch of its zone, with a cut inside the local hours the switch skips or repeats.
  const dstTou = fc
    .record({ cuts: fc.uniqueArray(fc.integer({ min: 0, max: 1439 }), { minLength: 0, maxLength: 3 }), inSwitchHour: fc.integer({ min: 120, max: 179 }), rates: fc.array(rateArb, { minLength: 5, maxLength: 5 }) })
    .map((x): TariffSpec => ({ kind: 'tou', cuts: [...new Set([...x.cuts, x.inSwitchHour])], rates: x.rates }));
  const zoned = fc.constantFrom<[string, number]>(['Europe/Berlin', SWITCHES[0]!], ['Europe/Berlin', SWITCHES[1]!], ['America/New_York', SWITCHES[2]!], ['America/New_York', SWITCHES[3]!]);
  fc.assert(
    fc.property(
      dstTou,
      fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
      zoned,
      fc.integer({ min: 0, max: 12 * 3_600_000 }),
      fc.integer({ min: 0, max: 1_000_000_000 }),
      fc.array(stepArb, { minLength: 1, maxLength: 6 }),
      (spec, allowance, [zone, switchAt], before, opening, steps) => checkAgainstOracle(spec, allowance, zone, switchAt - before, opening, [...steps, { gap: before + 3_600_000, perMille: 500 }]),
    ),
    { numRuns: 150 },
  );
  t.pass('150 sequences across a switch agree with the oracle');
});

function checkAgainstOracle(spec: TariffSpec, allowance: number | null, offset: number | string, start: number, opening: number, steps: ReadonlyArray<{ gap: number; perMille: number }>): void {
        const readings = [{ at: start, register: opening }];
        for (const step of steps) {
          const previous = readings[readings.length - 1]!;
          readings.push({ at: previous.at + step.gap, register: previous.register + Math.floor((plausibleMax(step.gap) * step.perMille) / 1000) });
        }
        const pricing: MeterTariff = { schedule: singleVersion(engineTariffOf(spec)), quota: allowance === null ? null : { allowance: allowance }, zone: zoneOf(offset) };
        let cursor: BillingCursor | null = null;
        let amount = 0;
        let freeUsed = 0;
        for (const reading of readings) {
          const outcome = billRegister(cursor, reading.register, reading.at, pricing, ELECTRIC_LIMITS);
          switch (outcome.kind) {
            case 'opened':
            case 'idle':
              cursor = outcome.cursor;
              break;
            case 'charged':
              amount += outcome.charge.amount;
              freeUsed += outcome.charge.freeUsed;
              cursor = outcome.cursor;
              break;
            default:
              throw new Error(`a plausible advance was refused: ${JSON.stringify(outcome)}`);
          }
        }
        const expected = oracle(spec, allowance, offset, readings);
        const expectedFen = Number(expected.micro / 1_000_000n);
        if (amount !== expectedFen) throw new Error(`charged ${amount} fen, oracle ${expectedFen} fen`);
        if (freeUsed !== expected.freeUsed) throw new Error(`free ${freeUsed}, oracle ${expected.freeUsed}`);
        // The engine rolls its month lazily (at the next charge): compare the standing as of the last reading.
        const last = readings[readings.length - 1]!.at;
        const monthOver = cursor!.billing.monthKey < localMonthKey(last, zoneOf(offset));
        const monthUsage = monthOver ? 0 : cursor!.billing.monthUsage;
        const freeRemaining = monthOver ? (allowance ?? 0) : cursor!.billing.freeRemaining;
        if (monthUsage !== expected.monthUsage) throw new Error(`monthUsage ${monthUsage}, oracle ${expected.monthUsage}`);
        if (freeRemaining !== expected.freeRemaining) throw new Error(`freeRemaining ${freeRemaining}, oracle ${expected.freeRemaining}`);
        if (BigInt(cursor!.billing.carryMicro) !== expected.micro % 1_000_000n) throw new Error(`carry ${cursor!.billing.carryMicro}, oracle ${expected.micro % 1_000_000n} (micro ${expected.micro})`);
}

t.test('the oracle can tell a wrong price: a gap priced at its end is caught', async (t) => {
  // Guard against an oracle that agrees with anything: the pre-fix behaviour (whole gap at the
  // rate of the reading that closes it) differs from the oracle for an overnight outage.
  const spec: TariffSpec = { kind: 'tou', cuts: [7 * 60, 23 * 60], rates: [56_800, 30_000, 0, 0, 0] };
  const start = Date.parse('2026-03-10T22:00:00+08:00');
  const readings = [{ at: start, register: 0 }, { at: start + 10 * 3_600_000, register: 10_000 }];
  const expected = Number(oracle(spec, null, 480, readings).micro / 1_000_000n);
  t.equal(expected, 353, '1 h day (56.8) + 8 h valley (240) + 1 h day (56.8) = 353.6 fen');
  t.not(expected, 568, 'the whole night at the closing reading\'s day rate would be 568 fen');
});

// ---------- every daylight saving switch of 2025-2030, in zones with awkward rules ----------

/** Offset of `zone` at `ms` as Intl names it ('GMT+5:45'), the oracle's own reading (not ZoneRules). */
const offsetNames = new Map<string, Intl.DateTimeFormat>();
function offsetName(ms: number, zone: string): string {
  let format = offsetNames.get(zone);
  if (!format) offsetNames.set(zone, (format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'shortOffset' })));
  return format.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')!.value;
}
/** Every instant (to the minute) in [from, to) where the zone's offset changes: a 6-hour scan, bisected to the minute. */
function switchesOf(zone: string, from: number, to: number): number[] {
  const out: number[] = [];
  const STEP = 6 * 3_600_000;
  for (let lo = from; lo < to; lo += STEP) {
    let a = lo;
    let b = lo + STEP;
    if (offsetName(a, zone) === offsetName(b, zone)) continue;
    while (b - a > MINUTE) {
      const mid = a + Math.floor((b - a) / 2 / MINUTE) * MINUTE;
      if (offsetName(mid, zone) === offsetName(a, zone)) a = mid;
      else b = mid;
    }
    out.push(b);
  }
  return out;
}
/**
 * Santiago (midnight skipped in September, repeated in April), Havana (its autumn switch repeats
 * the midnight that begins 1 November 2026), Cairo (midnight skipped), Chatham (+12:45/+13:45),
 * St John's (-3:30/-2:30), Lord Howe (a 30-minute switch), Berlin, New York; Kolkata and Kathmandu
 * (+5:30, +5:45, no switch) by name.
 */
const DST_ZONES = ['America/Santiago', 'America/Havana', 'Africa/Cairo', 'Pacific/Chatham', 'America/St_Johns', 'Australia/Lord_Howe', 'Europe/Berlin', 'America/New_York'];
const zoneSwitches = DST_ZONES.flatMap((zone) => switchesOf(zone, Date.parse('2025-01-01T00:00:00Z'), Date.parse('2031-01-01T00:00:00Z')).map((at) => ({ zone, at })));
/** Time-of-use cuts near the hours a switch skips or repeats (local 23:00-04:00), or anywhere. */
const nearSwitchCut = fc.oneof(fc.constantFrom(0, 15, 30, 45, 60, 90, 120, 150, 165, 180, 210, 1380, 1410, 1425), fc.integer({ min: 0, max: 1439 }));
const dstTariffArb: fc.Arbitrary<TariffSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ cuts: fc.uniqueArray(nearSwitchCut, { minLength: 1, maxLength: 5 }), rates: fc.array(rateArb, { minLength: 5, maxLength: 5 }) }).map((x): TariffSpec => ({ kind: 'tou', ...x })) },
  { weight: 1, arbitrary: tariffArb },
);
/** A start shortly before a switch (seconds to a day and a half), so short polls and long outages straddle it. */
const dstCaseArb = fc.oneof(
  fc.tuple(fc.constantFrom(...zoneSwitches), fc.oneof(fc.integer({ min: 0, max: 20 * MINUTE }), fc.integer({ min: 0, max: 36 * 3_600_000 }))).map(([s, before]) => ({ zone: s.zone, start: s.at - before })),
  fc.tuple(fc.constantFrom('Asia/Kolkata', 'Asia/Kathmandu'), fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') })).map(([zone, start]) => ({ zone, start })),
);
const DST_RUNS = Number(process.env.ZONE_PROPERTY_RUNS ?? 300);

t.test('every switch of 2025-2030 in eight DST zones: billing equals the minute-by-minute pricing', async (t) => {
  t.ok(zoneSwitches.length >= 80, `${zoneSwitches.length} switches found by the oracle's own scan`);
  t.ok(zoneSwitches.some((s) => s.zone === 'America/Havana' && s.at === Date.parse('2026-11-01T05:00:00Z')), "Havana repeats 1 November 2026's first hour");
  fc.assert(
    fc.property(dstTariffArb, fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }), dstCaseArb, fc.integer({ min: 0, max: 1_000_000_000 }), fc.array(stepArb, { minLength: 1, maxLength: 6 }), (spec, allowance, { zone, start }, opening, steps) => {
      const readings = [{ at: start, register: opening }];
      for (const step of steps) {
        const previous = readings[readings.length - 1]!;
        readings.push({ at: previous.at + step.gap, register: previous.register + Math.floor((plausibleMax(step.gap) * step.perMille) / 1000) });
      }
      const pricing: MeterTariff = { schedule: singleVersion(engineTariffOf(spec)), quota: allowance === null ? null : { allowance }, zone: zoneOf(zone) };
      let cursor: BillingCursor | null = null;
      let amount = 0;
      let freeUsed = 0;
      for (const reading of readings) {
        const outcome = billRegister(cursor, reading.register, reading.at, pricing, ELECTRIC_LIMITS);
        if (outcome.kind === 'charged') {
          amount += outcome.charge.amount;
          freeUsed += outcome.charge.freeUsed;
        } else if (outcome.kind !== 'opened' && outcome.kind !== 'idle') throw new Error(`a plausible advance was refused: ${JSON.stringify(outcome)}`);
        cursor = outcome.cursor;
      }
      const expected = oracle(spec, allowance, zone, readings);
      if (amount !== Number(expected.micro / 1_000_000n)) throw new Error(`${zone} from ${new Date(start).toISOString()}: charged ${amount} fen, oracle ${expected.micro / 1_000_000n} fen`);
      if (freeUsed !== expected.freeUsed) throw new Error(`${zone}: free ${freeUsed}, oracle ${expected.freeUsed}`);
      if (BigInt(cursor!.billing.carryMicro) !== expected.micro % 1_000_000n) throw new Error(`${zone}: carry ${cursor!.billing.carryMicro}, oracle ${expected.micro % 1_000_000n}`);
    }),
    { numRuns: DST_RUNS },
  );
  t.pass(`${DST_RUNS} generated register sequences around switches agree with the oracle`);
});
