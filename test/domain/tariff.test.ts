/**
 * Hand-computed tables for the tariff engine. Amounts are worked out by hand:
 * amount = floor((carry + usage x rate) / 1e6) fen, rate in milli-fen per kWh, usage in Wh.
 */
import t from 'tap';
import {
  chargeUsage,
  initialBillingState,
  monthUsageAt,
  rateAt,
} from '../../src/domain/tariff.ts';
import type {
  BillingState,
  FreeQuotaPolicy,
  PeriodicTariff,
  Tariff,
  TieredTariff,
  TimeOfUseTariff,
} from '../../src/domain/tariff.ts';

const CN = 480; // UTC+8
const ms = (iso: string): number => {
  const value = Date.parse(iso);
  if (Number.isNaN(value)) throw new Error(`bad test time ${iso}`);
  return value;
};
const state = (over: Partial<BillingState> = {}): BillingState => ({
  monthKey: '2026-03',
  monthUsage: 0,
  freeRemaining: 0,
  carryMicro: 0,
  ...over,
});

const tou: TimeOfUseTariff = {
  kind: 'time_of_use',
  periods: [
    { name: 'day', from: '07:00', to: '19:00', rate: 56_800 },
    { name: 'evening', from: '19:00', to: '23:00', rate: 70_000 },
    { name: 'valley', from: '23:00', to: '07:00', rate: 30_000 },
  ],
};

// 0..100 kWh at 0.50, 100..200 kWh at 0.55, above at 0.80 yuan/kWh.
const tiered: TieredTariff = {
  kind: 'tiered',
  tiers: [
    { upTo: 100_000, rate: 50_000 },
    { upTo: 200_000, rate: 55_000 },
    { upTo: null, rate: 80_000 },
  ],
};

const periodic: PeriodicTariff = {
  kind: 'periodic',
  rates: [
    { months: [6, 7, 8, 9], rate: 60_000, name: 'summer' },
    { weekdays: [0, 6], rate: 40_000, name: 'weekend' },
  ],
  defaultRate: 50_000,
};

t.test('single rate: usage x rate / 1e6 with the remainder carried', async (t) => {
  const single: Tariff = { kind: 'single', rate: 56_800 };
  const r = chargeUsage(single, null, state(), 12_345, ms('2026-03-10T12:00:00+08:00'), CN);
  // 12345 x 56800 = 701_196_000 micro-fen
  t.equal(r.amount, 701);
  t.equal(r.state.carryMicro, 196_000);
  t.same(r.parts, [{ rate: 56_800, usage: 12_345, label: 'single' }]);
  t.equal(r.billedUsage, 12_345);
  t.equal(r.freeUsed, 0);
  t.equal(r.quotaGranted, 0);
  t.same(r.state, { monthKey: '2026-03', monthUsage: 12_345, freeRemaining: 0, carryMicro: 196_000, quotaFrom: '2026-03-01', quotaUntil: '2026-04-01', freeGranted: 0, freeLapsed: 0 });

  // The carried 196_000 plus 804 x 1000 = 1_000_000 makes exactly one more fen.
  const next = chargeUsage({ kind: 'single', rate: 1000 }, null, r.state, 804, ms('2026-03-10T12:01:00+08:00'), CN);
  t.equal(next.amount, 1);
  t.equal(next.state.carryMicro, 0);
});

t.test('time of use: the delta is priced by the period at `at`, boundaries exact', async (t) => {
  const rows: Array<[string, number, string, number]> = [
    // local time, amount for 1 kWh, period, carry
    ['2026-03-10T00:00:00.000+08:00', 30, 'valley', 0],
    ['2026-03-10T06:59:59.999+08:00', 30, 'valley', 0],
    ['2026-03-10T07:00:00.000+08:00', 56, 'day', 800_000],
    ['2026-03-10T18:59:59.999+08:00', 56, 'day', 800_000],
    ['2026-03-10T19:00:00.000+08:00', 70, 'evening', 0],
    ['2026-03-10T22:59:59.999+08:00', 70, 'evening', 0],
    ['2026-03-10T23:00:00.000+08:00', 30, 'valley', 0],
    ['2026-03-10T23:59:59.999+08:00', 30, 'valley', 0],
  ];
  for (const [when, amount, label, carry] of rows) {
    const r = chargeUsage(tou, null, state(), 1000, ms(when), CN);
    t.equal(r.amount, amount, `${when} amount`);
    t.same(r.parts, [{ rate: tou.periods.find((p) => p.name === label)!.rate, usage: 1000, label }], `${when} part`);
    t.equal(r.state.carryMicro, carry, `${when} carry`);
  }
});

t.test('time of use: the offset decides the local period', async (t) => {
  const instant = ms('2026-03-09T22:59:59.999Z'); // 06:59:59.999 in UTC+8, 22:59:59.999 in UTC
  t.equal(chargeUsage(tou, null, state(), 1000, instant, CN).parts[0]!.label, 'valley');
  t.equal(chargeUsage(tou, null, state(), 1000, instant, 0).parts[0]!.label, 'evening');
  t.equal(chargeUsage(tou, null, state(), 1000, instant + 1, CN).parts[0]!.label, 'day');
});

t.test('time of use: a single period from === to covers the whole day', async (t) => {
  const flat: Tariff = { kind: 'time_of_use', periods: [{ name: 'flat', from: '05:00', to: '05:00', rate: 1_000_000 }] };
  for (const when of ['2026-03-10T04:59:59.999+08:00', '2026-03-10T05:00:00+08:00', '2026-03-10T17:00:00+08:00']) {
    t.equal(chargeUsage(flat, null, state(), 3, ms(when), CN).amount, 3, when);
  }
});

t.test('tiered: a delta crossing tier boundaries is split', async (t) => {
  const r = chargeUsage(tiered, null, state({ monthUsage: 90_000 }), 120_001, ms('2026-03-10T12:00:00+08:00'), CN);
  t.same(r.parts, [
    { rate: 50_000, usage: 10_000, label: 'tier 1' },
    { rate: 55_000, usage: 100_000, label: 'tier 2' },
    { rate: 80_000, usage: 10_001, label: 'tier 3' },
  ]);
  // 10000 x 50000 + 100000 x 55000 + 10001 x 80000 = 5e8 + 5.5e9 + 800_080_000 = 6_800_080_000
  t.equal(r.amount, 6800);
  t.equal(r.state.carryMicro, 80_000);
  t.equal(r.state.monthUsage, 210_001);
});

t.test('tiered: exact tier edges', async (t) => {
  const at = ms('2026-03-10T12:00:00+08:00');
  const rows: Array<[number, number, string[]]> = [
    // monthUsage before, usage, labels
    [0, 100_000, ['tier 1']],
    [99_999, 1, ['tier 1']],
    [100_000, 1, ['tier 2']],
    [99_999, 2, ['tier 1', 'tier 2']],
    [199_999, 1, ['tier 2']],
    [200_000, 5, ['tier 3']],
    [5_000_000, 5, ['tier 3']],
  ];
  for (const [monthUsage, usage, labels] of rows) {
    const r = chargeUsage(tiered, null, state({ monthUsage }), usage, at, CN);
    t.same(r.parts.map((p) => p.label), labels, `${monthUsage} + ${usage}`);
    t.equal(r.parts.reduce((s, p) => s + p.usage, 0), usage);
  }
});

t.test('tiered: tiers reset at the start of the local month', async (t) => {
  const march = state({ monthKey: '2026-03', monthUsage: 150_000 });
  // 2026-03-31T16:00Z is 2026-04-01 00:00 in UTC+8: April, tier 1 again.
  const april = chargeUsage(tiered, null, march, 1000, ms('2026-03-31T16:00:00Z'), CN);
  t.equal(april.state.monthKey, '2026-04');
  t.same(april.parts, [{ rate: 50_000, usage: 1000, label: 'tier 1' }]);
  t.equal(april.amount, 50);
  t.equal(april.state.monthUsage, 1000);

  // One millisecond earlier it is still March in UTC+8: tier 2.
  const lateMarch = chargeUsage(tiered, null, march, 1000, ms('2026-03-31T15:59:59.999Z'), CN);
  t.equal(lateMarch.state.monthKey, '2026-03');
  t.equal(lateMarch.parts[0]!.label, 'tier 2');
  t.equal(lateMarch.state.monthUsage, 151_000);

  // The same instant is still March in UTC.
  const utc = chargeUsage(tiered, null, march, 1000, ms('2026-03-31T16:00:00Z'), 0);
  t.equal(utc.state.monthKey, '2026-03');
  t.equal(utc.parts[0]!.label, 'tier 2');
});

t.test('periodic: by month, by weekday, first match wins, in local time', async (t) => {
  const rows: Array<[string, string, number]> = [
    ['2026-07-08T12:00:00+08:00', 'summer', 60_000], // Wednesday in July
    ['2026-07-04T12:00:00+08:00', 'summer', 60_000], // Saturday in July: summer is listed first
    ['2026-03-14T12:00:00+08:00', 'weekend', 40_000], // Saturday in March
    ['2026-03-15T23:59:59.999+08:00', 'weekend', 40_000], // Sunday
    ['2026-03-11T12:00:00+08:00', 'default', 50_000], // Wednesday in March
    ['2026-03-13T23:59:59.999+08:00', 'default', 50_000], // Friday
    ['2026-03-13T16:00:00Z', 'weekend', 40_000], // Saturday 00:00 in UTC+8
    ['2026-05-31T16:00:00Z', 'summer', 60_000], // 1 June 00:00 in UTC+8
    ['2026-09-30T16:00:00Z', 'default', 50_000], // 1 October 00:00 (Thursday) in UTC+8
  ];
  for (const [when, label, rate] of rows) {
    const r = chargeUsage(periodic, null, state({ monthKey: '2026-01' }), 1000, ms(when), CN);
    t.same(r.parts, [{ rate, usage: 1000, label }], when);
    t.equal(r.amount, rate / 1000, `${when} amount`);
  }
  const unnamed: PeriodicTariff = { kind: 'periodic', rates: [{ weekdays: [3], rate: 7 }], defaultRate: 9 };
  t.equal(chargeUsage(unnamed, null, state(), 1, ms('2026-03-11T12:00:00+08:00'), CN).parts[0]!.label, 'rates[0]');
});

t.test('periodic: months and weekdays in one entry must both match', async (t) => {
  const summerWeekend: PeriodicTariff = {
    kind: 'periodic',
    rates: [{ months: [7], weekdays: [6], rate: 90_000 }],
    defaultRate: 50_000,
  };
  const at = (iso: string) => chargeUsage(summerWeekend, null, state({ monthKey: '2026-01' }), 1000, ms(iso), CN);
  t.equal(at('2026-07-04T12:00:00+08:00').amount, 90); // July Saturday
  t.equal(at('2026-07-08T12:00:00+08:00').amount, 50); // July Wednesday
  t.equal(at('2026-03-14T12:00:00+08:00').amount, 50); // March Saturday
});

t.test('free quota covers a delta partially, exactly, or not at all', async (t) => {
  const single: Tariff = { kind: 'single', rate: 50_000 };
  const quota: FreeQuotaPolicy = { allowance: 10_000 };
  const at = ms('2026-03-10T12:00:00+08:00');

  const within = chargeUsage(single, quota, state({ freeRemaining: 10_000 }), 4000, at, CN);
  t.equal(within.amount, 0);
  t.equal(within.freeUsed, 4000);
  t.equal(within.billedUsage, 0);
  t.same(within.parts, []);
  t.same(within.state, { monthKey: '2026-03', monthUsage: 4000, freeRemaining: 6000, carryMicro: 0, quotaFrom: '2026-03-01', quotaUntil: '2026-04-01', freeGranted: 10_000, freeLapsed: 0 });

  const exact = chargeUsage(single, quota, within.state, 6000, at, CN);
  t.equal(exact.amount, 0);
  t.equal(exact.freeUsed, 6000);
  t.equal(exact.state.freeRemaining, 0);

  const partial = chargeUsage(single, quota, state({ monthUsage: 4000, freeRemaining: 6000 }), 15_000, at, CN);
  t.equal(partial.freeUsed, 6000);
  t.equal(partial.billedUsage, 9000);
  t.equal(partial.amount, 450); // 9000 x 50000 / 1e6
  t.equal(partial.state.freeRemaining, 0);
  t.equal(partial.state.monthUsage, 19_000);

  const none = chargeUsage(single, quota, partial.state, 1000, at, CN);
  t.equal(none.freeUsed, 0);
  t.equal(none.amount, 50);
  t.equal(none.quotaGranted, 0);
});

t.test('free usage occupies the lowest tier positions', async (t) => {
  const quota = { allowance: 10_000 };
  const fresh = initialBillingState(ms('2026-03-01T00:00:00+08:00'), quota, CN);
  const r = chargeUsage(tiered, quota, fresh, 200_000, ms('2026-03-10T12:00:00+08:00'), CN);
  t.equal(r.freeUsed, 10_000);
  t.same(r.parts, [
    { rate: 50_000, usage: 90_000, label: 'tier 1' },
    { rate: 55_000, usage: 100_000, label: 'tier 2' },
  ]);
  t.equal(r.amount, 4500 + 5500);
  t.equal(r.state.monthUsage, 200_000);
});

t.test('month rollover resets the quota and reports the grant', async (t) => {
  const single: Tariff = { kind: 'single', rate: 50_000 };
  const quota = { allowance: 10_000 };
  const march = state({ monthKey: '2026-03', monthUsage: 80_000, freeRemaining: 2000, carryMicro: 999_999 });

  const april = chargeUsage(single, quota, march, 12_000, ms('2026-03-31T16:00:00Z'), CN);
  t.equal(april.quotaGranted, 10_000);
  t.equal(april.freeUsed, 10_000, 'the new allowance replaces what was left, it does not add to it');
  t.equal(april.billedUsage, 2000);
  // carry crosses the month: 999_999 + 2000 x 50000 = 100_999_999
  t.equal(april.amount, 100);
  t.same(april.state, { monthKey: '2026-04', monthUsage: 12_000, freeRemaining: 0, carryMicro: 999_999, quotaFrom: '2026-04-01', quotaUntil: '2026-05-01', freeGranted: 10_000, freeLapsed: 0 });

  const again = chargeUsage(single, quota, april.state, 0, ms('2026-04-30T15:59:59.999Z'), CN);
  t.equal(again.quotaGranted, 0, 'no second grant in the same month');

  // A zero delta still rolls the month over and grants the allowance.
  const may = chargeUsage(single, quota, april.state, 0, ms('2026-04-30T16:00:00Z'), CN);
  t.equal(may.quotaGranted, 10_000);
  t.same(may.state, { monthKey: '2026-05', monthUsage: 0, freeRemaining: 10_000, carryMicro: 999_999, quotaFrom: '2026-05-01', quotaUntil: '2026-06-01', freeGranted: 10_000, freeLapsed: 0 });
  t.equal(may.amount, 0);

  // Skipped months grant one allowance, not one per month.
  const december = chargeUsage(single, quota, april.state, 0, ms('2026-12-10T00:00:00+08:00'), CN);
  t.equal(december.quotaGranted, 10_000);
  t.equal(december.state.freeRemaining, 10_000);

  // Across a year boundary.
  const january = chargeUsage(single, quota, state({ monthKey: '2026-12' }), 0, ms('2026-12-31T16:00:00Z'), CN);
  t.equal(january.state.monthKey, '2027-01');
  t.equal(january.quotaGranted, 10_000);

  // Without a policy the rollover grants nothing.
  const noPolicy = chargeUsage(single, null, march, 1000, ms('2026-04-10T00:00:00+08:00'), CN);
  t.equal(noPolicy.quotaGranted, 0);
  t.equal(noPolicy.freeUsed, 0);
  t.equal(noPolicy.state.freeRemaining, 0);
});

t.test('a reading from an earlier month than the state does not roll over', async (t) => {
  const single: Tariff = { kind: 'single', rate: 50_000 };
  const quota = { allowance: 10_000 };
  const april = state({ monthKey: '2026-04', monthUsage: 30_000, freeRemaining: 0 });
  const late = chargeUsage(single, quota, april, 1000, ms('2026-03-31T15:00:00Z'), CN);
  t.equal(late.quotaGranted, 0);
  t.same(late.state, { monthKey: '2026-04', monthUsage: 31_000, freeRemaining: 0, carryMicro: 0, quotaFrom: '2026-04-01', quotaUntil: '2026-05-01', freeGranted: 0, freeLapsed: 0 });
});

t.test('free units left in the state are spent even when the policy is now null', async (t) => {
  const r = chargeUsage({ kind: 'single', rate: 50_000 }, null, state({ freeRemaining: 500 }), 1000, ms('2026-03-10T12:00:00+08:00'), CN);
  t.equal(r.freeUsed, 500);
  t.equal(r.amount, 25);
});

t.test('carry: rate 1 and 999_999 deltas of 1 Wh make no fen, the next makes one', async (t) => {
  const single: Tariff = { kind: 'single', rate: 1 };
  const at = ms('2026-03-10T12:00:00+08:00');
  let s = state();
  let total = 0;
  for (let i = 0; i < 999_999; i++) {
    const r = chargeUsage(single, null, s, 1, at, CN);
    total += r.amount;
    s = r.state;
  }
  t.equal(total, 0);
  t.equal(s.carryMicro, 999_999);
  t.equal(s.monthUsage, 999_999);
  const last = chargeUsage(single, null, s, 1, at, CN);
  t.equal(last.amount, 1);
  t.equal(last.state.carryMicro, 0);
});

t.test('carry is shared by the parts of one delta', async (t) => {
  // Two parts of 0.6 fen each: separately floored they would make 0 + 0, together 1.
  const split: TieredTariff = { kind: 'tiered', tiers: [{ upTo: 1, rate: 600_000 }, { upTo: null, rate: 600_000 }] };
  const r = chargeUsage(split, null, state(), 2, ms('2026-03-10T12:00:00+08:00'), CN);
  t.equal(r.parts.length, 2);
  t.equal(r.amount, 1);
  t.equal(r.state.carryMicro, 200_000);
});

t.test('large usage does not lose precision', async (t) => {
  // 9e9 Wh at 1e9: 9e18 micro-fen would overflow a double; the split product does not.
  const r = chargeUsage({ kind: 'single', rate: 1_000_000_000 }, null, state({ carryMicro: 999_999 }), 9_000_000_001, ms('2026-03-10T12:00:00+08:00'), CN);
  t.equal(r.amount, 9_000_000_001_000);
  t.equal(r.state.carryMicro, 999_999);
});

t.test('initialBillingState', async (t) => {
  t.same(initialBillingState(ms('2026-03-31T16:00:00Z'), { allowance: 5000 }, CN), {
    monthKey: '2026-04',
    monthUsage: 0,
    freeRemaining: 5000,
    carryMicro: 0,
    quotaFrom: '2026-04-01', quotaUntil: '2026-05-01', freeGranted: 5000, freeLapsed: 0,
  });
  t.same(initialBillingState(ms('2026-03-31T16:00:00Z'), null, 0), {
    monthKey: '2026-03',
    monthUsage: 0,
    freeRemaining: 0,
    carryMicro: 0,
    quotaFrom: '', // no policy: no period granted
    quotaUntil: '',
    freeGranted: 0,
    freeLapsed: 0,
  });
});

t.test('rateAt gives the marginal rate', async (t) => {
  t.equal(rateAt(tou, ms('2026-03-10T06:59:59.999+08:00'), 0, CN), 30_000);
  t.equal(rateAt(tou, ms('2026-03-10T07:00:00+08:00'), 0, CN), 56_800);
  t.equal(rateAt(tiered, ms('2026-03-10T07:00:00+08:00'), 99_999, CN), 50_000);
  t.equal(rateAt(tiered, ms('2026-03-10T07:00:00+08:00'), 100_000, CN), 55_000);
  t.equal(rateAt(tiered, ms('2026-03-10T07:00:00+08:00'), 10_000_000, CN), 80_000);
  t.equal(rateAt(periodic, ms('2026-03-14T12:00:00+08:00'), 0, CN), 40_000);
  t.equal(rateAt({ kind: 'single', rate: 7 }, 0, 0, 0), 7);

  const march = state({ monthKey: '2026-03', monthUsage: 150_000 });
  t.equal(monthUsageAt(march, ms('2026-03-31T15:59:59.999Z'), CN), 150_000);
  t.equal(monthUsageAt(march, ms('2026-03-31T16:00:00Z'), CN), 0);
});

t.test('inputs are not mutated', async (t) => {
  const deepFreeze = <T>(value: T): T => {
    if (typeof value === 'object' && value !== null) {
      Object.values(value).forEach(deepFreeze);
      Object.freeze(value);
    }
    return value;
  };
  const frozenTariff = deepFreeze(structuredClone(tiered));
  const frozenQuota = deepFreeze({ allowance: 1000 });
  const frozenState = deepFreeze(state({ monthUsage: 99_000, freeRemaining: 500, carryMicro: 3 }));
  const r = chargeUsage(frozenTariff, frozenQuota, frozenState, 5000, ms('2026-03-10T12:00:00+08:00'), CN);
  t.same(frozenState, state({ monthUsage: 99_000, freeRemaining: 500, carryMicro: 3 }));
  t.same(frozenTariff, tiered);
  t.not(r.state, frozenState);
});

t.test('bad numbers are RangeErrors', async (t) => {
  const single: Tariff = { kind: 'single', rate: 1 };
  const at = ms('2026-03-10T12:00:00+08:00');
  for (const usage of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    t.throws(() => chargeUsage(single, null, state(), usage, at, CN), RangeError, `usage ${usage}`);
  }
  t.throws(() => chargeUsage(single, null, state({ carryMicro: 1_000_000 }), 1, at, CN), RangeError);
  t.throws(() => chargeUsage(single, null, state({ carryMicro: -1 }), 1, at, CN), RangeError);
  t.throws(() => chargeUsage(single, null, state({ monthKey: '2026-3' }), 1, at, CN), RangeError);
  t.throws(() => chargeUsage(single, null, state({ monthUsage: -5 }), 1, at, CN), RangeError);
  t.throws(() => chargeUsage(single, null, state({ freeRemaining: 0.5 }), 1, at, CN), RangeError);
  t.throws(() => chargeUsage(single, { allowance: -1 }, state(), 1, at, CN), RangeError);
  t.throws(() => chargeUsage(single, null, state(), 1, at, 480.5), RangeError);
  t.throws(() => chargeUsage(single, null, state(), 1, at, 15 * 60), RangeError);
  t.throws(() => chargeUsage(single, null, state(), 1, -1, CN), RangeError);
  t.throws(() => chargeUsage(single, null, state(), 1, 1.5, CN), RangeError);
  t.throws(() => chargeUsage({ kind: 'single', rate: -3 }, null, state(), 1, at, CN), RangeError);
  t.throws(() => chargeUsage({ kind: 'single', rate: 0.5 }, null, state(), 1, at, CN), RangeError);
  t.throws(() => chargeUsage(single, null, state({ monthUsage: 2 ** 53 - 2 }), 5, at, CN), RangeError);
});

t.test('an unvalidated, inconsistent tariff throws instead of guessing', async (t) => {
  const at = ms('2026-03-10T12:00:00+08:00');
  const gap: Tariff = { kind: 'time_of_use', periods: [{ name: 'night', from: '23:00', to: '07:00', rate: 1 }] };
  t.throws(() => chargeUsage(gap, null, state(), 1, at, CN), RangeError);
  const bounded: Tariff = { kind: 'tiered', tiers: [{ upTo: 10, rate: 1 }] };
  t.equal(chargeUsage(bounded, null, state(), 10, at, CN).amount, 0);
  t.throws(() => chargeUsage(bounded, null, state(), 11, at, CN), RangeError);
  const unknown = { kind: 'flat', rate: 1 } as unknown as Tariff;
  t.throws(() => chargeUsage(unknown, null, state(), 1, at, CN), RangeError);
});
