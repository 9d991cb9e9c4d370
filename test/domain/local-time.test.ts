import t from 'tap';
import fc from 'fast-check';
import {
  formatClockMinutes,
  isMonthKey,
  localMonthKey,
  parseClockMinutes,
  toLocalTime,
} from '../../src/domain/local-time.ts';

t.test('hand-picked instants in UTC+8 and UTC-5', async (t) => {
  t.same(toLocalTime(Date.parse('2026-03-31T16:00:00Z'), 480), {
    year: 2026,
    month: 4,
    day: 1,
    weekday: 3,
    msOfDay: 0,
  });
  t.same(toLocalTime(Date.parse('2026-03-31T15:59:59.999Z'), 480), {
    year: 2026,
    month: 3,
    day: 31,
    weekday: 2,
    msOfDay: 86_399_999,
  });
  t.same(toLocalTime(Date.parse('2024-03-01T04:59:59.999Z'), -300), {
    year: 2024,
    month: 2,
    day: 29,
    weekday: 4,
    msOfDay: 86_399_999,
  });
  t.same(toLocalTime(0, 0), { year: 1970, month: 1, day: 1, weekday: 4, msOfDay: 0 });
  t.same(toLocalTime(0, -60), { year: 1969, month: 12, day: 31, weekday: 3, msOfDay: 23 * 3_600_000 });
  t.equal(localMonthKey(Date.parse('2026-12-31T16:00:00Z'), 480), '2027-01');
});

t.test('agrees with Date for any instant and offset', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: Date.parse('2200-01-01T00:00:00Z') }),
      fc.integer({ min: -840, max: 840 }),
      (at, offset) => {
        const d = new Date(at + offset * 60_000);
        const local = toLocalTime(at, offset);
        return (
          local.year === d.getUTCFullYear() &&
          local.month === d.getUTCMonth() + 1 &&
          local.day === d.getUTCDate() &&
          local.weekday === d.getUTCDay() &&
          local.msOfDay === d.getUTCHours() * 3_600_000 + d.getUTCMinutes() * 60_000 + d.getUTCSeconds() * 1000 + d.getUTCMilliseconds()
        );
      },
    ),
    { numRuns: 2000 },
  );
  t.pass('toLocalTime matches Date over 2000 random instants');
});

t.test("'HH:MM' parsing", async (t) => {
  t.equal(parseClockMinutes('00:00'), 0);
  t.equal(parseClockMinutes('07:00'), 420);
  t.equal(parseClockMinutes('23:59'), 1439);
  for (const bad of ['24:00', '7:00', '07:60', '07:5a', '-1:00', '07:00:00', '', null, 420]) {
    t.equal(parseClockMinutes(bad), null, String(bad));
  }
  for (let m = 0; m < 1440; m++) {
    if (parseClockMinutes(formatClockMinutes(m)) !== m) t.fail(`round trip ${m}`);
  }
  t.pass('format/parse round trip for every minute');
});

t.test('month keys', async (t) => {
  t.ok(isMonthKey('2026-01'));
  t.ok(isMonthKey('2026-12'));
  t.notOk(isMonthKey('2026-13'));
  t.notOk(isMonthKey('2026-00'));
  t.notOk(isMonthKey('2026-1'));
  t.notOk(isMonthKey(202601));
});

t.test('bad offsets and instants are RangeErrors', async (t) => {
  t.throws(() => toLocalTime(0, 841), RangeError);
  t.throws(() => toLocalTime(0, 0.5), RangeError);
  t.throws(() => toLocalTime(-1, 0), RangeError);
  t.throws(() => toLocalTime(Number.NaN, 0), RangeError);
  t.throws(() => toLocalTime(253_402_214_400_001, 0), RangeError, 'after year 9999');
  t.equal(localMonthKey(253_402_214_400_000, 840), '9999-12');
});
