/**
 * Properties of the tariff engine over generated tariffs, quotas and delta sequences.
 * Oracles use BigInt so they cannot share the engine's overflow or rounding mistakes.
 */
import t from 'tap';
import fc from 'fast-check';
import { chargeUsage, initialBillingState, validateTariff } from '../../src/domain/tariff.ts';
import type {
  BillingState,
  ChargeResult,
  FreeQuotaPolicy,
  PeriodicTariff,
  Tariff,
  Tier,
  TieredTariff,
  TimeOfUseTariff,
} from '../../src/domain/tariff.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
const MICRO = 1_000_000n;
const RUNS = { numRuns: 300 };

// ---------- generators ----------

const rateArb = fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 0, max: 1_000_000_000 }));
const usageArb = fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 5_000_000 }));
const offsetArb = fc.constantFrom(480, 0, -300, 330, 840, -720);
const atArb = fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') });
const stateCarryArb = fc.integer({ min: 0, max: 999_999 });

const hhmm = (minute: number): string =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** Cut points around the clock; consecutive cuts (cyclically) make the periods, in shuffled order. */
const touArb: fc.Arbitrary<TimeOfUseTariff> = fc
  .record({
    cuts: fc.uniqueArray(fc.integer({ min: 0, max: 1439 }), { minLength: 1, maxLength: 6 }),
    rates: fc.array(rateArb, { minLength: 6, maxLength: 6 }),
    order: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
  })
  .map(({ cuts, rates, order }) => {
    const sorted = [...cuts].sort((a, b) => a - b);
    const periods = sorted.map((from, i) => ({
      name: `p${i}`,
      from: hhmm(from),
      to: hhmm(sorted[(i + 1) % sorted.length]!),
      rate: rates[i]!,
    }));
    const shuffled = periods
      .map((period, i) => ({ period, key: order[i]! }))
      .sort((a, b) => a.key - b.key)
      .map((x) => x.period);
    return { kind: 'time_of_use', periods: shuffled };
  });

const tieredArb: fc.Arbitrary<TieredTariff> = fc
  .record({
    bounds: fc.uniqueArray(fc.integer({ min: 1, max: 3_000_000 }), { maxLength: 4 }),
    rates: fc.array(rateArb, { minLength: 5, maxLength: 5 }),
  })
  .map(({ bounds, rates }) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    const tiers: Tier[] = sorted.map((upTo, i) => ({ upTo, rate: rates[i]! }));
    tiers.push({ upTo: null, rate: rates[sorted.length]! });
    return { kind: 'tiered', tiers };
  });

const periodicArb: fc.Arbitrary<PeriodicTariff> = fc
  .record({
    entries: fc.array(
      fc.record({
        months: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 12 }), { nil: undefined }),
        weekdays: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }),
        useWeekdays: fc.boolean(),
        rate: rateArb,
      }),
      { maxLength: 4 },
    ),
    defaultRate: rateArb,
  })
  .map(({ entries, defaultRate }) => ({
    kind: 'periodic',
    rates: entries.map(({ months, weekdays, useWeekdays, rate }) =>
      months === undefined || useWeekdays ? { ...(months ? { months } : {}), weekdays, rate } : { months, rate },
    ),
    defaultRate,
  }));

const tariffArb: fc.Arbitrary<Tariff> = fc.oneof(
  rateArb.map((rate): Tariff => ({ kind: 'single', rate })),
  touArb,
  tieredArb,
  periodicArb,
);

const quotaArb: fc.Arbitrary<FreeQuotaPolicy | null> = fc.option(
  fc.integer({ min: 0, max: 200_000 }).map((allowance) => ({ allowance })),
  { nil: null },
);

/** A usage total and a split of it into k >= 1 non-negative deltas. */
const splitArb = fc
  .array(usageArb, { minLength: 1, maxLength: 12 })
  .map((deltas) => ({ deltas, total: deltas.reduce((a, b) => a + b, 0) }));

// ---------- helpers ----------

function run(
  tariff: Tariff,
  quota: FreeQuotaPolicy | null,
  start: BillingState,
  steps: ReadonlyArray<{ usage: number; at: number }>,
  offset: number,
): { results: ChargeResult[]; amount: number; state: BillingState } {
  let state = start;
  let amount = 0;
  const results: ChargeResult[] = [];
  for (const { usage, at } of steps) {
    const result = chargeUsage(tariff, quota, state, usage, at, offset);
    results.push(result);
    amount += result.amount;
    state = result.state;
  }
  return { results, amount, state };
}

/** Micro-minor-units of `from..to` tier positions under the tariff's tier boundaries. */
function tierMicro(tiers: Tier[], from: number, to: number): bigint {
  let micro = 0n;
  let lower = 0;
  for (const tier of tiers) {
    const upper = tier.upTo ?? Number.MAX_SAFE_INTEGER;
    const overlap = Math.max(0, Math.min(to, upper) - Math.max(from, lower));
    micro += BigInt(overlap) * BigInt(tier.rate);
    lower = upper;
  }
  return micro;
}

/** Local midnight of a day in the middle of a month, so a day and the next stay in one month. */
const midMonthDayArb = fc
  .record({ year: fc.integer({ min: 2021, max: 2035 }), month: fc.integer({ min: 1, max: 12 }), day: fc.integer({ min: 1, max: 26 }) })
  .map(({ year, month, day }) => ({ year, month, day }));

// ---------- properties ----------

t.test('generated tariffs are valid', async (t) => {
  fc.assert(fc.property(tariffArb, (tariff) => validateTariff(tariff).ok), { numRuns: 500 });
  t.pass('every generated tariff passes validateTariff');
});

t.test('one delta or any split of it at the same instant: same amount and same state', async (t) => {
  fc.assert(
    fc.property(tariffArb, quotaArb, splitArb, atArb, offsetArb, stateCarryArb, fc.integer({ min: 0, max: 4_000_000 }), fc.integer({ min: 0, max: 200_000 }),
      (tariff, quota, { deltas, total }, at, offset, carryMicro, monthUsage, freeRemaining) => {
        const start = { ...initialBillingState(at, quota, offset), carryMicro, monthUsage, freeRemaining };
        const whole = chargeUsage(tariff, quota, start, total, at, offset);
        const split = run(tariff, quota, start, deltas.map((usage) => ({ usage, at })), offset);
        return whole.amount === split.amount && JSON.stringify(whole.state) === JSON.stringify(split.state);
      }),
    RUNS,
  );
  t.pass('split invariance at one instant');
});

t.test('one delta or a split spread over one TOU period: same amount', async (t) => {
  fc.assert(
    fc.property(touArb, quotaArb, splitArb, midMonthDayArb, offsetArb, fc.nat(), fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 12, maxLength: 12 }),
      (tariff, quota, { deltas, total }, day, offset, pick, fractions) => {
        const period = tariff.periods[pick % tariff.periods.length]!;
        const from = Number(period.from.slice(0, 2)) * 60 + Number(period.from.slice(3));
        const to = Number(period.to.slice(0, 2)) * 60 + Number(period.to.slice(3));
        const lengthMs = (from === to ? 1440 : (to - from + 1440) % 1440) * MINUTE;
        const midnight = Date.UTC(day.year, day.month - 1, day.day) - offset * MINUTE;
        const times = fractions
          .map((f) => midnight + from * MINUTE + Math.floor(f * lengthMs))
          .slice(0, deltas.length)
          .sort((a, b) => a - b);
        const start = initialBillingState(midnight, quota, offset);
        const whole = chargeUsage(tariff, quota, start, total, times[0]!, offset);
        const split = run(tariff, quota, start, deltas.map((usage, i) => ({ usage, at: times[i]! })), offset);
        return (
          whole.amount === split.amount &&
          split.results.every((r) => r.parts.every((p) => p.label === period.name)) &&
          whole.state.carryMicro === split.state.carryMicro
        );
      }),
    RUNS,
  );
  t.pass('split invariance within one time-of-use period');
});

t.test('single rate: sum of amounts is floor((carry + sum usage x rate) / 1e6) across any deltas and months', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ usage: usageArb, rate: rateArb, gap: fc.integer({ min: 0, max: 40 * DAY }) }), { minLength: 1, maxLength: 30 }),
      atArb,
      offsetArb,
      stateCarryArb,
      (steps, at0, offset, carryMicro) => {
        let state: BillingState = { ...initialBillingState(at0, null, offset), carryMicro };
        let at = at0;
        let amount = 0;
        let micro = BigInt(carryMicro);
        for (const step of steps) {
          at += step.gap;
          const r = chargeUsage({ kind: 'single', rate: step.rate }, null, state, step.usage, at, offset);
          amount += r.amount;
          state = r.state;
          micro += BigInt(step.usage) * BigInt(step.rate);
        }
        return BigInt(amount) === micro / MICRO && BigInt(state.carryMicro) === micro % MICRO;
      },
    ),
    { numRuns: 500 },
  );
  t.pass('carry conservation for single rates');
});

t.test('any tariff: sum of amounts equals floor of the summed part products; amounts are non-negative integers', async (t) => {
  fc.assert(
    fc.property(
      tariffArb,
      quotaArb,
      fc.array(fc.record({ usage: usageArb, gap: fc.integer({ min: -DAY, max: 20 * DAY }) }), { minLength: 1, maxLength: 25 }),
      atArb,
      offsetArb,
      (tariff, quota, steps, at0, offset) => {
        let at = at0;
        const timed = steps.map(({ usage, gap }) => {
          at = Math.max(0, at + gap); // clocks may step back: no step may break the invariants
          return { usage, at };
        });
        const { results, amount, state } = run(tariff, quota, initialBillingState(at0, quota, offset), timed, offset);
        let micro = 0n;
        for (const [i, r] of results.entries()) {
          if (!Number.isSafeInteger(r.amount) || r.amount < 0) return false;
          if (r.freeUsed + r.billedUsage !== timed[i]!.usage || r.freeUsed < 0) return false;
          if (r.parts.reduce((s, p) => s + p.usage, 0) !== r.billedUsage) return false;
          if (r.parts.some((p) => p.usage <= 0)) return false;
          if (r.state.freeRemaining < 0 || r.state.carryMicro < 0 || r.state.carryMicro > 999_999) return false;
          for (const p of r.parts) micro += BigInt(p.usage) * BigInt(p.rate);
        }
        return BigInt(amount) === micro / MICRO && BigInt(state.carryMicro) === micro % MICRO;
      },
    ),
    RUNS,
  );
  t.pass('no money is created or lost by rounding, whatever the tariff');
});

t.test('tiered within one month: total equals the formula from tier boundaries', async (t) => {
  fc.assert(
    fc.property(tieredArb, quotaArb, splitArb, fc.integer({ min: 2021, max: 2035 }), fc.integer({ min: 1, max: 12 }), offsetArb, fc.array(fc.integer({ min: 0, max: 27 * DAY }), { minLength: 12, maxLength: 12 }),
      (tariff, quota, { deltas, total }, year, month, offset, offsets) => {
        const monthStart = Date.UTC(year, month - 1, 1) - offset * MINUTE;
        const times = offsets.slice(0, deltas.length).map((o) => monthStart + o).sort((a, b) => a - b);
        // The state was made in the previous month: the first reading rolls over and grants the quota.
        const start: BillingState = { ...initialBillingState(monthStart - 1, quota, offset), monthUsage: 123_456, freeRemaining: 7 };
        const { amount, state } = run(tariff, quota, start, deltas.map((usage, i) => ({ usage, at: times[i]! })), offset);
        const free = Math.min(total, quota?.allowance ?? 0);
        // Free units take positions 0..free; billed units free..total.
        const micro = tierMicro(tariff.tiers, free, total);
        return BigInt(amount) === micro / MICRO && state.monthUsage === total;
      }),
    RUNS,
  );
  t.pass('tier formula');
});
