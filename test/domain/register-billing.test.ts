/**
 * Hand-worked tables for billing from a cumulative register (src/domain/register-billing.ts):
 * opening, idle, charge, rollover, backwards, implausible jumps, gaps across a period boundary
 * and across a month end. Amounts: floor((carry + usage x rate) / 1e6) fen, rate in milli-fen
 * per kWh, usage in Wh.
 */
import t from 'tap';
import { singleVersion } from '../../src/domain/gap-pricing.ts';
import {
  accumulateCharge,
  chargeMeasured,
  ELECTRIC_LIMITS,
  maxPlausibleUsage,
  measuredRange,
  measureRegister,
  WATER_LIMITS,
  type BillingCursor,
  type MeterTariff,
} from '../../src/domain/register-billing.ts';
import type { BillingState } from '../../src/domain/tariff.ts';
import { billRegister } from '../helpers/bill-register.ts';

const CN = 480;
const HOUR = 3_600_000;
const at = (localIso: string): number => {
  const value = Date.parse(`${localIso}+08:00`);
  if (Number.isNaN(value)) throw new Error(`bad test time ${localIso}`);
  return value;
};
const single: MeterTariff = { schedule: singleVersion({ kind: 'single', rate: 56_800 }), quota: null, zone: CN };
const tou: MeterTariff = {
  schedule: singleVersion({
    kind: 'time_of_use',
    periods: [
      { name: 'day', from: '07:00', to: '19:00', rate: 56_800 },
      { name: 'evening', from: '19:00', to: '23:00', rate: 70_000 },
      { name: 'valley', from: '23:00', to: '07:00', rate: 30_000 },
    ],
  }),
  quota: null,
  zone: CN,
};
const state = (over: Partial<BillingState> = {}): BillingState => ({ monthKey: '2026-03', monthUsage: 0, freeRemaining: 0, carryMicro: 0, ...over });
const cursor = (register: number, readAt: number, billing: Partial<BillingState> = {}): BillingCursor => ({ register, readAt, billing: state(billing) });

t.test('maxPlausibleUsage: rate x elapsed + slack, at least one second of rate', async (t) => {
  t.equal(maxPlausibleUsage(ELECTRIC_LIMITS, 0, HOUR), 31_000, '30 kW for an hour + 1 kWh slack');
  t.equal(maxPlausibleUsage(ELECTRIC_LIMITS, 0, 0), 1_008, 'no elapsed time counts as one second');
  t.equal(maxPlausibleUsage(ELECTRIC_LIMITS, HOUR, 0), 1_008, 'a reversed span counts as one second');
  t.equal(maxPlausibleUsage(WATER_LIMITS, 0, 2 * HOUR), 6_500, '3 m3/h for two hours + 500 l');
});

t.test('the first reading opens the cursor and bills nothing', async (t) => {
  const quota = { ...single, quota: { allowance: 10_000 } };
  const outcome = billRegister(null, 123_456, at('2026-03-10T12:00:00'), quota, ELECTRIC_LIMITS);
  t.same(outcome, {
    kind: 'opened',
    cursor: { register: 123_456, readAt: at('2026-03-10T12:00:00'), billing: { monthKey: '2026-03', monthUsage: 0, freeRemaining: 10_000, carryMicro: 0, quotaFrom: '2026-03-01', quotaUntil: '2026-04-01', freeGranted: 10_000, freeLapsed: 0 } },
    quotaGranted: 10_000,
  });
});

t.test('an unchanged register is idle and keeps the cursor, time included', async (t) => {
  const c = cursor(5_000, at('2026-03-10T12:00:00'));
  t.same(billRegister(c, 5_000, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS), { kind: 'idle', cursor: c });
  // So a register that lags its timestamp (the same register read twice at one instant, then
  // the advance) is judged over the time since it last moved: 3 kWh after 3 hours is plausible.
  const three = billRegister(c, 8_000, at('2026-03-10T15:00:00'), single, ELECTRIC_LIMITS);
  t.equal(three.kind, 'charged');
});

t.test('a plain advance is charged and moves the cursor', async (t) => {
  const c = cursor(5_000, at('2026-03-10T12:00:00'), { carryMicro: 300_000 });
  const outcome = billRegister(c, 6_000, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS);
  if (outcome.kind !== 'charged') throw new Error(`expected charged, got ${outcome.kind}`);
  // 1,000 Wh x 56,800 = 56,800,000 micro-fen + 300,000 carry = 57.1 fen -> 57 fen, carry 100,000
  t.equal(outcome.usage, 1_000);
  t.equal(outcome.wrapped, false);
  t.equal(outcome.charge.amount, 57);
  t.same(outcome.cursor, { register: 6_000, readAt: at('2026-03-10T13:00:00'), billing: { monthKey: '2026-03', monthUsage: 1_000, freeRemaining: 0, carryMicro: 100_000, quotaFrom: '2026-03-01', quotaUntil: '2026-04-01', freeGranted: 0, freeLapsed: 0 } });
});

t.test('a register below the cursor', async (t) => {
  const c = cursor(4_294_967_196, at('2026-03-10T12:00:00')); // 2^32 - 100
  const wrapped = billRegister(c, 50, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS, 2 ** 32);
  if (wrapped.kind !== 'charged') throw new Error(`expected a rollover charge, got ${wrapped.kind}`);
  t.equal(wrapped.usage, 150, 'a u32 counter that wrapped: 100 Wh to the top + 50 Wh after zero');
  t.equal(wrapped.wrapped, true);
  t.equal(wrapped.cursor.register, 50);

  t.same(billRegister(c, 50, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS, null), { kind: 'backwards', register: 50, cursorRegister: 4_294_967_196 }, 'a counter that never wraps went backwards');
  const low = cursor(1_000_000, at('2026-03-10T12:00:00'));
  t.same(billRegister(low, 999_000, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS, 2 ** 32), { kind: 'backwards', register: 999_000, cursorRegister: 1_000_000 }, 'a wrap that would mean 4.29 GWh in an hour is backwards, not a rollover');
  t.same(billRegister(c, 2 ** 32, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS, 2 ** 32).kind, 'charged', 'at the modulus is an advance (100 Wh), not a wrap');
  t.same(billRegister(c, 2 ** 32 + 5, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS, 2 ** 32).kind, 'charged');
  const above = cursor(2 ** 32 + 10, at('2026-03-10T12:00:00'));
  t.equal(billRegister(above, 20, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS, 2 ** 32).kind, 'backwards', 'a cursor beyond the modulus cannot wrap');
});

t.test('registers that are not counts are refused as backwards, never charged', async (t) => {
  const c = cursor(5_000, at('2026-03-10T12:00:00'));
  for (const bad of [-1, 5_000.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    t.equal(billRegister(c, bad, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS).kind, 'backwards', String(bad));
  }
  t.equal(billRegister(null, -5, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS).kind, 'backwards', 'not even as an opening register');
});

t.test('an implausible jump is held, whatever its size', async (t) => {
  const c = cursor(5_000, at('2026-03-10T12:00:00'));
  t.equal(billRegister(c, 5_000 + 31_000, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS).kind, 'charged', 'exactly the limit is billed');
  t.same(billRegister(c, 5_000 + 31_001, at('2026-03-10T13:00:00'), single, ELECTRIC_LIMITS), { kind: 'implausible', usage: 31_001, maxPlausible: 31_000 });
  // The limit is what a 30 kW supply could draw in the server-bounded time since the cursor
  // (sample-time.ts bounds `at`): 50 MWh is physically possible over 70 days of silence, not over
  // six hours. A held jump stays held until an operator resolves it (register-hold.ts); the
  // meter actor never re-tries it as time passes.
  const seventyDays = billRegister(c, 5_000 + 50_000_000, at('2026-03-10T12:00:00') + 70 * 24 * HOUR, single, ELECTRIC_LIMITS);
  t.equal(seventyDays.kind, 'charged', '50 MWh over 70 days is within 30 kW: plausible by rate');
  t.same(billRegister(c, 5_000 + 50_000_000, at('2026-03-10T18:00:00'), single, ELECTRIC_LIMITS).kind, 'implausible', 'the same jump six hours later is held');
});

t.test('a gap across a time-of-use boundary is priced in both periods', async (t) => {
  // 18:00 -> 20:00 local, 2,000 Wh: 1,000 Wh in 'day' (56,800) and 1,000 Wh in 'evening' (70,000).
  const c = cursor(0, at('2026-03-10T18:00:00'));
  const outcome = billRegister(c, 2_000, at('2026-03-10T20:00:00'), tou, ELECTRIC_LIMITS);
  if (outcome.kind !== 'charged') throw new Error(`expected charged, got ${outcome.kind}`);
  t.same(outcome.charge.parts, [
    { rate: 56_800, usage: 1_000, label: 'day', version: 1 },
    { rate: 70_000, usage: 1_000, label: 'evening', version: 1 },
  ]);
  t.equal(outcome.charge.amount, 126, '56.8 + 70.0 = 126.8 fen -> 126');
  t.equal(outcome.cursor.billing.carryMicro, 800_000);

  // Offline overnight, 22:00 -> 08:00 (10 h, 10,000 Wh): 1 h evening, 8 h valley, 1 h day.
  const night = billRegister(cursor(0, at('2026-03-10T22:00:00')), 10_000, at('2026-03-11T08:00:00'), tou, ELECTRIC_LIMITS);
  if (night.kind !== 'charged') throw new Error(`expected charged, got ${night.kind}`);
  t.same(night.charge.parts.map((p) => [p.label, p.usage]), [['evening', 1_000], ['valley', 8_000], ['day', 1_000]]);
  t.equal(night.charge.amount, 70 + 240 + 56, 'not the whole night at the day rate (568 fen)');
});

t.test('a gap across a month end uses each month\'s quota', async (t) => {
  const quota: MeterTariff = { schedule: singleVersion({ kind: 'single', rate: 50_000 }), quota: { allowance: 10_000 }, zone: CN };
  // March's quota is used up; offline 23:00 -> 01:00 across the month end with 2,000 Wh.
  const c = cursor(0, at('2026-03-31T23:00:00'), { monthUsage: 40_000, freeRemaining: 0 });
  const outcome = billRegister(c, 2_000, at('2026-04-01T01:00:00'), quota, ELECTRIC_LIMITS);
  if (outcome.kind !== 'charged') throw new Error(`expected charged, got ${outcome.kind}`);
  t.equal(outcome.charge.amount, 50, 'the March hour is billed: 1,000 Wh x 50,000 = 50 fen');
  t.equal(outcome.charge.freeUsed, 1_000, 'the April hour is free');
  t.equal(outcome.charge.quotaGranted, 10_000, 'April\'s allowance is granted once');
  t.same(outcome.cursor.billing, { monthKey: '2026-04', monthUsage: 1_000, freeRemaining: 9_000, carryMicro: 0, quotaFrom: '2026-04-01', quotaUntil: '2026-05-01', freeGranted: 10_000, freeLapsed: 0 });
});

t.test('measuredRange prices an accepted delta and moves the meter to any register (replacement)', async (t) => {
  const c = cursor(80_000, at('2026-03-10T12:00:00'));
  // The old meter's final register was 81,000; the new meter opens at 12: bill 1,000 Wh, position 12.
  const measured = measuredRange(c, 1_000, 12, at('2026-03-10T14:00:00'));
  t.same(measured, { usage: 1_000, fromRegister: 80_000, toRegister: 12, fromMs: at('2026-03-10T12:00:00'), toMs: at('2026-03-10T14:00:00'), position: { register: 12, readAt: at('2026-03-10T14:00:00') } });
  t.equal(chargeMeasured(c.billing, measured, single).amount, 56);
  const earlier = measuredRange(c, 0, 12, at('2026-03-10T11:00:00'));
  t.equal(earlier.position.readAt, at('2026-03-10T12:00:00'), 'the position\'s time never moves backwards');
});

t.test('two meters of one purse share one quota grant and one tier position', async (t) => {
  const tiered: MeterTariff = { schedule: singleVersion({ kind: 'tiered', tiers: [{ upTo: 10_000, rate: 50_000 }, { upTo: null, rate: 100_000 }] }), quota: { allowance: 3_000 }, zone: CN };
  const a = measureRegister(null, 100, at('2026-03-01T08:00:00'), ELECTRIC_LIMITS);
  const b = measureRegister(null, 7_000, at('2026-03-01T08:00:00'), ELECTRIC_LIMITS);
  if (a.kind !== 'opened' || b.kind !== 'opened') throw new Error('expected openings');
  const opened = chargeMeasured(null, a.measured, tiered);
  t.equal(opened.quotaGranted, 3_000, 'the purse opens with one month\'s quota');
  const first = measureRegister(a.measured.position, 100 + 6_000, at('2026-03-01T12:00:00'), ELECTRIC_LIMITS);
  const second = measureRegister(b.measured.position, 7_000 + 6_000, at('2026-03-01T13:00:00'), ELECTRIC_LIMITS);
  if (first.kind !== 'measured' || second.kind !== 'measured') throw new Error('expected measurements');
  const one = chargeMeasured(opened.state, first.measured, tiered);
  const two = chargeMeasured(one.state, second.measured, tiered);
  // Meter A: 3,000 free + 3,000 at tier 1 (150 fen). Meter B: 4,000 more at tier 1 (200 fen)
  // up to 10,000 Wh this month, then 2,000 at tier 2 (200 fen). No second grant.
  t.same([one.freeUsed, one.amount, two.freeUsed, two.amount, two.quotaGranted], [3_000, 150, 0, 400, 0]);
  t.same(two.state, { monthKey: '2026-03', monthUsage: 12_000, freeRemaining: 0, carryMicro: 0, quotaFrom: '2026-03-01', quotaUntil: '2026-04-01', freeGranted: 3_000, freeLapsed: 0 });
});

t.test('accumulateCharge sums charges between postings and keeps parts by label and rate', async (t) => {
  const c = cursor(0, at('2026-03-10T18:00:00'));
  const first = billRegister(c, 2_000, at('2026-03-10T20:00:00'), tou, ELECTRIC_LIMITS);
  if (first.kind !== 'charged') throw new Error('expected charged');
  const second = billRegister(first.cursor, 2_500, at('2026-03-10T20:30:00'), tou, ELECTRIC_LIMITS);
  if (second.kind !== 'charged') throw new Error('expected charged');
  const pending = accumulateCharge(accumulateCharge(null, 0, 2_000, first.usage, first.charge, at('2026-03-10T20:00:00')), 2_000, 2_500, second.usage, second.charge, at('2026-03-10T20:30:00'));
  t.same(pending, {
    amount: 126 + 35, // 500 Wh x 70,000 = 35.0 fen + 0.8 carry -> 35
    usage: 2_500,
    freeUsed: 0,
    fromRegister: 0,
    toRegister: 2_500,
    firstAt: at('2026-03-10T20:00:00'),
    lastAt: at('2026-03-10T20:30:00'),
    quotaGranted: 0,
    quotaLapsed: [],
    parts: { '1|day@56800': { rate: 56_800, usage: 1_000, label: 'day', version: 1 }, '1|evening@70000': { rate: 70_000, usage: 1_500, label: 'evening', version: 1 } },
  });
});

t.test('accumulateCharge adds to the pending charge in place: one object from the first reading to the posting', async (t) => {
  let c = cursor(0, at('2026-03-10T20:00:00'));
  let pending: ReturnType<typeof accumulateCharge> | null = null;
  const seen = new Set<object>();
  let register = 0;
  for (let minute = 1; minute <= 20; minute++) {
    register += 100;
    const billed = billRegister(c, register, at('2026-03-10T20:00:00') + minute * 60_000, tou, ELECTRIC_LIMITS);
    if (billed.kind !== 'charged') throw new Error('expected charged');
    pending = accumulateCharge(pending, c.register, register, billed.usage, billed.charge, at('2026-03-10T20:00:00') + minute * 60_000);
    seen.add(pending);
    c = billed.cursor;
  }
  t.equal(seen.size, 1, 'the same pending charge, added to twenty times');
  t.equal(pending!.usage, 2_000);
  t.equal(pending!.fromRegister, 0, 'from the first reading');
  t.equal(pending!.toRegister, 2_000, 'to the last');
  t.same(Object.keys(pending!.parts), ['1|evening@70000'], 'one part per version, label and rate');
  t.equal(pending!.parts['1|evening@70000']!.usage, 2_000, "the part's usage summed in place");
  t.equal(pending!.amount, 140, '2,000 Wh in the evening period: 140 fen (500 Wh is 35, as above), the carry summed across readings');
});
