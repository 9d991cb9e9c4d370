import t from 'tap';
import { MAX_RATE, validateTariff } from '../../src/domain/tariff.ts';

const tou = (periods: unknown[]) => ({ kind: 'time_of_use', periods });
// tap's subtest type (the last overload of t.test takes only the callback).
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const p = (from: string, to: string, rate = 1000, name = `${from}-${to}`) => ({ name, from, to, rate });

function rejects(
  t: Tap,
  input: unknown,
  field: string,
  messagePart: string | RegExp,
  why: string,
): void {
  const result = validateTariff(input);
  if (result.ok) {
    t.fail(`${why}: accepted`);
    return;
  }
  t.equal(result.field, field, `${why}: field`);
  t.match(result.message, messagePart, `${why}: message`);
}

t.test('accepts each kind and returns a clean copy', async (t) => {
  const inputs = [
    { kind: 'single', rate: 56_800 },
    { kind: 'single', rate: 0 },
    { kind: 'single', rate: MAX_RATE },
    tou([p('07:00', '19:00'), p('19:00', '23:00'), p('23:00', '07:00', 0)]),
    tou([p('00:00', '00:00')]),
    tou([p('12:00', '00:00'), p('00:00', '12:00')]),
    { kind: 'tiered', tiers: [{ upTo: null, rate: 5 }] },
    { kind: 'tiered', tiers: [{ upTo: 1, rate: 5, name: 'base' }, { upTo: 2, rate: 6 }, { upTo: null, rate: 7 }] },
    { kind: 'periodic', rates: [], defaultRate: 3 },
    { kind: 'periodic', rates: [{ months: [6, 7], weekdays: [0], rate: 1, name: 'summer Sunday' }], defaultRate: 3 },
  ];
  for (const input of inputs) {
    const result = validateTariff(input);
    t.ok(result.ok, JSON.stringify(input));
    if (result.ok) {
      t.same(result.tariff, input, 'same content');
      t.not(result.tariff, input, 'a copy');
    }
  }
});

t.test('the root and kind', async (t) => {
  rejects(t, null, '', 'object', 'null');
  rejects(t, [], '', 'object', 'array');
  rejects(t, 'single', '', 'object', 'string');
  rejects(t, {}, 'kind', 'one of', 'no kind');
  rejects(t, { kind: 'flat', rate: 1 }, 'kind', 'one of', 'unknown kind');
  rejects(t, { kind: 'single', rate: 1, currency: 'CNY' }, 'currency', 'unknown field', 'extra root field');
});

t.test('rates must be non-negative integers within range', async (t) => {
  const bad: unknown[] = [-1, 0.5, '100', null, undefined, Number.NaN, Number.POSITIVE_INFINITY, MAX_RATE + 1, 2 ** 53];
  for (const rate of bad) {
    rejects(t, { kind: 'single', rate }, 'rate', 'integer', `single rate ${String(rate)}`);
  }
  rejects(t, tou([p('00:00', '12:00'), p('12:00', '00:00', -5)]), 'periods[1].rate', 'integer', 'period rate');
  rejects(t, { kind: 'tiered', tiers: [{ upTo: 5, rate: 1 }, { upTo: null, rate: 1.25 }] }, 'tiers[1].rate', 'integer', 'tier rate');
  rejects(t, { kind: 'periodic', rates: [{ months: [1], rate: -2 }], defaultRate: 1 }, 'rates[0].rate', 'integer', 'periodic rate');
  rejects(t, { kind: 'periodic', rates: [], defaultRate: 0.1 }, 'defaultRate', 'integer', 'default rate');
});

t.test("time of use: 'HH:MM' is strict", async (t) => {
  for (const bad of ['7:00', '07:0', '24:00', '23:60', '07-00', '0700', ' 7:00', '07:00 ', 'aa:bb', '', 700, null]) {
    rejects(t, tou([p('00:00', '12:00'), { name: 'x', from: bad, to: '00:00', rate: 1 }]), 'periods[1].from', 'HH:MM', `from ${String(bad)}`);
  }
  rejects(t, tou([{ name: 'x', from: '00:00', to: '25:00', rate: 1 }]), 'periods[0].to', 'HH:MM', 'to 25:00');
});

t.test('time of use: gaps and overlaps name the field', async (t) => {
  rejects(t, tou([p('07:00', '19:00'), p('20:00', '07:00')]), 'periods', '19:00-20:00 is not covered', 'gap in the day');
  rejects(t, tou([p('07:00', '19:00'), p('19:00', '23:00')]), 'periods', '23:00-07:00 is not covered', 'gap over midnight');
  rejects(t, tou([p('00:00', '12:00'), p('12:00', '23:59')]), 'periods', '23:59-00:00 is not covered', 'last minute');
  rejects(t, tou([p('07:00', '19:00'), p('18:00', '07:00')]), 'periods[1]', 'overlaps periods[0] at 18:00', 'overlap');
  rejects(t, tou([p('23:00', '07:00'), p('06:59', '23:00')]), 'periods[1]', 'overlaps periods[0] at 06:59', 'overlap at the edge');
  rejects(t, tou([p('00:00', '00:00'), p('10:00', '11:00')]), 'periods[1]', 'overlaps periods[0]', 'second period beside a 24 h one');
  rejects(t, tou([p('07:00', '19:00'), p('19:00', '07:00'), p('19:00', '07:00')]), 'periods[2]', 'overlaps', 'duplicate');
  rejects(t, tou([]), 'periods', 'non-empty', 'no periods');
  rejects(t, { kind: 'time_of_use' }, 'periods', 'non-empty', 'missing periods');
});

t.test('time of use: period shape', async (t) => {
  rejects(t, tou([{ from: '00:00', to: '00:00', rate: 1 }]), 'periods[0].name', 'non-empty string', 'missing name');
  rejects(t, tou([p('00:00', '00:00', 1, '  ')]), 'periods[0].name', 'non-empty string', 'blank name');
  rejects(t, tou([{ ...p('00:00', '00:00'), until: '01:00' }]), 'periods[0].until', 'unknown field', 'extra field');
  rejects(t, tou(['00:00-24:00']), 'periods[0]', 'object', 'not an object');
});

t.test('tiered: ordered bounds ending with one unbounded tier', async (t) => {
  const tiered = (tiers: unknown[]) => ({ kind: 'tiered', tiers });
  rejects(t, tiered([]), 'tiers', 'non-empty', 'no tiers');
  rejects(t, tiered([{ upTo: 100, rate: 1 }, { upTo: 200, rate: 2 }]), 'tiers[1].upTo', 'last tier must be unbounded', 'missing unbounded tier');
  rejects(t, tiered([{ upTo: 200, rate: 1 }, { upTo: 100, rate: 2 }, { upTo: null, rate: 3 }]), 'tiers[1].upTo', 'greater than tiers[0].upTo (200)', 'unordered');
  rejects(t, tiered([{ upTo: 100, rate: 1 }, { upTo: 100, rate: 2 }, { upTo: null, rate: 3 }]), 'tiers[1].upTo', 'greater than', 'equal bounds');
  rejects(t, tiered([{ upTo: null, rate: 1 }, { upTo: null, rate: 2 }]), 'tiers[0].upTo', 'only the last', 'unbounded in the middle');
  rejects(t, tiered([{ upTo: 0, rate: 1 }, { upTo: null, rate: 2 }]), 'tiers[0].upTo', 'positive integer', 'zero bound');
  rejects(t, tiered([{ upTo: 10.5, rate: 1 }, { upTo: null, rate: 2 }]), 'tiers[0].upTo', 'positive integer', 'fractional bound');
  rejects(t, tiered([{ rate: 1 }]), 'tiers[0].upTo', 'positive integer', 'missing upTo');
  rejects(t, tiered([{ upto: null, rate: 1 }]), 'tiers[0].upto', 'unknown field', 'typo');
});

t.test('periodic: months 1..12, weekdays 0..6, each entry restricted', async (t) => {
  const periodic = (rates: unknown[]) => ({ kind: 'periodic', rates, defaultRate: 1 });
  rejects(t, periodic([{ months: [0], rate: 1 }]), 'rates[0].months[0]', '1..12', 'month 0');
  rejects(t, periodic([{ months: [6, 13], rate: 1 }]), 'rates[0].months[1]', '1..12', 'month 13');
  rejects(t, periodic([{ months: [6, 6], rate: 1 }]), 'rates[0].months[1]', 'duplicate', 'duplicate month');
  rejects(t, periodic([{ months: [], rate: 1 }]), 'rates[0].months', 'non-empty', 'no months');
  rejects(t, periodic([{ weekdays: [7], rate: 1 }]), 'rates[0].weekdays[0]', '0..6', 'weekday 7');
  rejects(t, periodic([{ weekdays: [1.5], rate: 1 }]), 'rates[0].weekdays[0]', '0..6', 'fractional weekday');
  rejects(t, periodic([{ months: [1], rate: 1 }, { rate: 2 }]), 'rates[1]', 'must restrict', 'unrestricted entry');
  rejects(t, { kind: 'periodic', rates: [] }, 'defaultRate', 'integer', 'missing defaultRate');
  rejects(t, { kind: 'periodic', defaultRate: 1 }, 'rates', 'array', 'missing rates');
});
