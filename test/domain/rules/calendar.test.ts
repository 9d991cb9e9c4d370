import t from 'tap';
import fc from 'fast-check';
import {
  DEFAULT_CALENDAR_CONFIG,
  dayOfIsoDate,
  isHoliday,
  localDayOf,
  localDayStartAt,
  nextCalendarBoundaryDay,
  validateCalendarConfig,
  weekdayOfDay,
  type CalendarConfig,
} from '../../../src/domain/rules/calendar.ts';
import { local, UTC_PLUS_8 } from './samples.ts';

const DAY = 86_400_000;
const day = (iso: string): number => dayOfIsoDate(iso)!;

t.test('dates and days agree with Date.UTC', async (t) => {
  t.equal(dayOfIsoDate('1970-01-01'), 0);
  t.equal(dayOfIsoDate('2024-02-29'), Date.UTC(2024, 1, 29) / DAY);
  fc.assert(
    fc.property(fc.integer({ min: -100_000, max: 200_000 }), (n) => {
      const iso = new Date(n * DAY).toISOString().slice(0, 10);
      return dayOfIsoDate(iso) === n && weekdayOfDay(n) === new Date(n * DAY).getUTCDay();
    }),
  );
});

t.test('only real, strictly formatted dates parse', async (t) => {
  for (const bad of ['2025-02-29', '2100-02-29', '2025-04-31', '2025-13-01', '2025-00-10', '2025-1-01', '2025/01/01', '20250101', 20250101, null]) {
    t.equal(dayOfIsoDate(bad), null, String(bad));
  }
  t.equal(dayOfIsoDate('2000-02-29'), Date.UTC(2000, 1, 29) / DAY);
});

t.test('local day and local midnight in UTC+8', async (t) => {
  const midnight = local(2025, 5, 1);
  t.equal(localDayOf(midnight, UTC_PLUS_8), day('2025-05-01'));
  t.equal(localDayOf(midnight - 1, UTC_PLUS_8), day('2025-04-30'));
  t.equal(localDayStartAt(day('2025-05-01'), UTC_PLUS_8), midnight);
  t.equal(localDayOf(Date.UTC(2025, 3, 30, 16, 0), UTC_PLUS_8), day('2025-05-01'), '16:00 UTC is local midnight');
  t.equal(localDayOf(Date.UTC(2025, 4, 1, 4, 59), -300), day('2025-04-30'), 'UTC-5 is still the day before');
});

const CAMPUS: CalendarConfig = {
  semesters: [
    { name: 'spring 2025', from: '2025-02-17', to: '2025-07-06' },
    { name: 'autumn 2025', from: '2025-09-01', to: '2026-01-18' },
  ],
  holidays: [{ name: 'Labour Day', from: '2025-05-01', to: '2025-05-05' }],
};

t.test('holiday ranges are inclusive at both ends; a gap between semesters is a holiday', async (t) => {
  const rows: ReadonlyArray<[string, boolean]> = [
    ['2025-02-16', true],
    ['2025-02-17', false],
    ['2025-04-30', false],
    ['2025-05-01', true],
    ['2025-05-05', true],
    ['2025-05-06', false],
    ['2025-07-06', false],
    ['2025-07-07', true],
    ['2025-08-31', true],
    ['2025-09-01', false],
  ];
  for (const [iso, holiday] of rows) t.equal(isHoliday(CAMPUS, day(iso)), holiday, iso);
  const holidaysOnly = { semesters: [], holidays: CAMPUS.holidays };
  t.equal(isHoliday(holidaysOnly, day('2025-08-01')), false, 'without semesters only holiday ranges count');
  t.equal(isHoliday(DEFAULT_CALENDAR_CONFIG, day('2025-05-01')), false);
});

t.test('nextCalendarBoundaryDay finds the next midnight where a range starts or ends', async (t) => {
  t.equal(nextCalendarBoundaryDay(CAMPUS, day('2025-04-20')), day('2025-05-01'));
  t.equal(nextCalendarBoundaryDay(CAMPUS, day('2025-05-01')), day('2025-05-06'));
  t.equal(nextCalendarBoundaryDay(CAMPUS, day('2025-05-06')), day('2025-07-07'));
  t.equal(nextCalendarBoundaryDay(CAMPUS, day('2026-01-19')), null);
  t.equal(nextCalendarBoundaryDay(DEFAULT_CALENDAR_CONFIG, 0), null);
});

t.test('validateCalendarConfig', async (t) => {
  const ok = validateCalendarConfig(CAMPUS);
  t.ok(ok.ok && Object.isFrozen(ok.config.holidays[0]));
  const empty = validateCalendarConfig({});
  t.ok(empty.ok && empty.config.semesters.length === 0 && empty.config.holidays.length === 0);
  const oneDay = validateCalendarConfig({ holidays: [{ name: 'sports day', from: '2025-10-10', to: '2025-10-10' }] });
  t.ok(oneDay.ok, 'a one-day range');
  const rows: ReadonlyArray<[unknown, string]> = [
    [[], ''],
    [{ holidays: {} }, 'holidays'],
    [{ holidays: [{ name: 'x', from: '2025-05-05', to: '2025-05-01' }] }, 'holidays[0].to'],
    [{ holidays: [{ name: 'x', from: '2025-02-30', to: '2025-03-01' }] }, 'holidays[0].from'],
    [{ semesters: [{ name: '', from: '2025-02-01', to: '2025-03-01' }] }, 'semesters[0].name'],
    [{ semesters: [{ name: 'x', from: '2025-02-01', to: '2025-03-01', kind: 1 }] }, 'semesters[0].kind'],
    [{ vacations: [] }, 'vacations'],
  ];
  for (const [input, field] of rows) {
    const result = validateCalendarConfig(input);
    t.equal(result.ok ? '(ok)' : result.field, field, JSON.stringify(input));
  }
});
