/**
 * `spanCuts` (src/domain/gap-pricing.ts) remembers, per tariff schedule, a stretch of time with
 * no price boundary inside it, so a reading's one-second span is priced without walking local
 * days and zone transitions again. It must answer exactly as the walk (`cutsInside`) for every
 * span: here over generated schedules (time-of-use, periodic, single and tiered, up to three
 * versions), zones with and without daylight saving, and sequences of consecutive spans from a
 * millisecond to two days long, several meters interleaved on one schedule the way the campus
 * prices them, and spans that go back in time (a meter whose last billed reading is older).
 */
import t from 'tap';
import fc from 'fast-check';
import { cutsInside, spanCuts, type TariffSchedule } from '../../src/domain/gap-pricing.ts';
import { ZoneRules, type TimeZone } from '../../src/domain/local-time.ts';
import type { Tariff } from '../../src/domain/tariff.ts';

const HOUR = 3_600_000;
const ZONES: readonly TimeZone[] = [480, 0, -300, 345, new ZoneRules('Europe/Berlin'), new ZoneRules('America/New_York'), new ZoneRules('Australia/Lord_Howe'), new ZoneRules('Asia/Shanghai')];

const hhmm = (minute: number): string => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

const tariffArb: fc.Arbitrary<Tariff> = fc.oneof(
  fc.constant<Tariff>({ kind: 'single', rate: 600_000 }),
  fc.constant<Tariff>({ kind: 'tiered', tiers: [{ upTo: 100_000, rate: 500_000 }, { upTo: null, rate: 700_000 }] }),
  fc.constant<Tariff>({ kind: 'periodic', rates: [{ weekdays: [0, 6], rate: 400_000 }], defaultRate: 500_000 }),
  fc.uniqueArray(fc.integer({ min: 0, max: 1439 }), { minLength: 1, maxLength: 5 }).map((cuts): Tariff => {
    const sorted = [...cuts].sort((a, b) => a - b);
    return { kind: 'time_of_use', periods: sorted.map((from, i) => ({ name: `p${i}`, from: hhmm(from), to: hhmm(sorted[(i + 1) % sorted.length]!), rate: 100_000 * (i + 1) })) };
  }),
);

const scheduleArb: fc.Arbitrary<TariffSchedule> = fc
  .record({ tariffs: fc.array(tariffArb, { minLength: 1, maxLength: 3 }), starts: fc.array(fc.integer({ min: 0, max: 20 * 24 }), { minLength: 2, maxLength: 2 }) })
  .map(({ tariffs, starts }) => {
    const base = Date.parse('2026-03-20T00:00:00Z');
    const effective = [Number.MIN_SAFE_INTEGER, ...starts.map((h) => base + h * HOUR + 17_000).sort((a, b) => a - b)];
    return { tariffId: 't', versions: tariffs.map((tariff, i) => ({ version: i + 1, effectiveFrom: effective[i]!, tariff })) };
  });

/** Steps between readings: mostly about a second, sometimes minutes, hours or days (a meter back online). */
const stepArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 900, max: 1_100 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 120_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 48 * HOUR }) },
);

t.test('spanCuts answers as cutsInside for every span, its remembered window or not', async (t) => {
  let spans = 0;
  let withCuts = 0;
  fc.assert(
    fc.property(
      scheduleArb,
      fc.constantFrom(...ZONES),
      // Around the March and October daylight-saving switches and a month start.
      fc.constantFrom(Date.parse('2026-03-28T20:00:00Z'), Date.parse('2026-10-24T20:00:00Z'), Date.parse('2026-04-30T15:00:00Z'), Date.parse('2026-04-05T14:30:00Z')),
      fc.array(fc.record({ meter: fc.integer({ min: 0, max: 3 }), step: stepArb, back: fc.integer({ min: 0, max: 30 }) }), { minLength: 20, maxLength: 200 }),
      (schedule, zone, start, readings) => {
        const lastOf = [start, start - 400, start - 2 * HOUR, start + 300];
        let now = start;
        for (const { meter, step, back } of readings) {
          now += step;
          const fromMs = back === 0 ? now - 3 * HOUR : lastOf[meter]!; // now and then a meter billed long ago
          const toMs = now;
          const expected = toMs - fromMs <= 0 ? [] : cutsInside(schedule, null, fromMs, toMs, zone);
          const got = spanCuts(schedule, null, fromMs, toMs, zone);
          spans++;
          if (expected.length > 0) withCuts++;
          if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`span (${new Date(fromMs).toISOString()}, ${new Date(toMs).toISOString()}): ${JSON.stringify(got)} != ${JSON.stringify(expected)}`);
          lastOf[meter] = toMs;
        }
      },
    ),
    { numRuns: 500 },
  );
  // fast-check favours short arrays: 500 runs compare about 15,000 spans, seldom fewer than 10,000.
  t.ok(spans > 5_000, `${spans} spans compared`);
  t.ok(withCuts > 100, `${withCuts} of them crossed a boundary`);
});

t.test('a span that goes back or stands still has no cut; a new zone is not answered from another zone\'s window', async (t) => {
  const schedule: TariffSchedule = { tariffId: 't', versions: [{ version: 1, effectiveFrom: Number.MIN_SAFE_INTEGER, tariff: { kind: 'periodic', rates: [], defaultRate: 1 } }] };
  const at = Date.parse('2026-06-10T15:59:59.000Z'); // 23:59:59 in UTC+8, 15:59:59 in UTC
  t.same(spanCuts(schedule, null, at, at, 480), []);
  t.same(spanCuts(schedule, null, at, at - 5, 480), []);
  t.same(spanCuts(schedule, null, at - 1000, at, 0), [], 'no UTC midnight inside: the window is remembered for UTC');
  t.same(spanCuts(schedule, null, at - 1000, at + 2000, 480), [Date.parse('2026-06-10T16:00:00.000Z')], 'UTC+8 midnight, found though the UTC window covers the span');
});
