/**
 * IANA time zones in the billing core (src/domain/local-time.ts ZoneRules): local time, day starts,
 * price boundaries, month ends and quota periods on the days daylight saving time switches.
 * Europe/Berlin 2026: CET (+1) until Sunday 29 March 01:00 UTC (02:00 -> 03:00 local), CEST (+2)
 * until Sunday 25 October 01:00 UTC (03:00 -> 02:00 local). Worked by hand.
 */
import t from 'tap';
import { priceBoundaries } from '../../src/domain/gap-pricing.ts';
import { instantsOfWallTime, localToInstant, offsetAt, offsetTransitions, toLocalTime, ZoneRules } from '../../src/domain/local-time.ts';
import { dayAfter } from '../../src/domain/quota.ts';
import { localDayOf, startOfLocalDay } from '../../src/domain/settlement/local-day.ts';
import { chargeUsage, initialBillingState, moveQuota, type Tariff } from '../../src/domain/tariff.ts';

const berlin = new ZoneRules('Europe/Berlin');
const utc = (iso: string) => Date.parse(`${iso}Z`);
const iso = (at: number) => new Date(at).toISOString().slice(0, 16);
const wall = (at: number, zone: ZoneRules | number = berlin) => {
  const l = toLocalTime(at, zone);
  const minutes = Math.floor(l.msOfDay / 60_000);
  return `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')} ${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
};

t.test('offsets and local time around the switches', async (t) => {
  const table: [string, number, string][] = [
    ['2026-03-29T00:59', 60, '2026-03-29 01:59'],
    ['2026-03-29T01:00', 120, '2026-03-29 03:00'],
    ['2026-10-25T00:59', 120, '2026-10-25 02:59'],
    ['2026-10-25T01:00', 60, '2026-10-25 02:00'],
    ['2026-07-01T12:00', 120, '2026-07-01 14:00'],
    ['2026-12-31T23:30', 60, '2027-01-01 00:30'],
  ];
  for (const [at, offset, local] of table) {
    t.equal(offsetAt(berlin, utc(at)), offset, `${at}Z: UTC+${offset / 60}`);
    t.equal(wall(utc(at)), local, `${at}Z is ${local} in Berlin`);
  }
  const shanghai = new ZoneRules('Asia/Shanghai');
  t.equal(wall(utc('2026-10-25T01:00'), shanghai), wall(utc('2026-10-25T01:00'), 480), 'a zone without DST is its fixed offset');
});

t.test('local wall times to instants: the skipped hour and the repeated hour', async (t) => {
  const local = (s: string) => Date.parse(`${s}Z`); // a wall time written as UTC
  t.equal(iso(localToInstant(local('2026-03-29T01:30'), berlin)), '2026-03-29T00:30', '01:30 CET');
  t.equal(iso(localToInstant(local('2026-03-29T02:30'), berlin)), '2026-03-29T01:00', '02:30 does not exist: the switch that skips it (03:00 CEST)');
  t.equal(iso(localToInstant(local('2026-03-29T03:00'), berlin)), '2026-03-29T01:00', '03:00 CEST');
  t.equal(iso(localToInstant(local('2026-10-25T02:30'), berlin)), '2026-10-25T00:30', '02:30 happens twice: its first occurrence (CEST)');
  t.equal(iso(localToInstant(local('2026-10-25T03:00'), berlin)), '2026-10-25T02:00', '03:00 CET, once');
  t.same(instantsOfWallTime(local('2026-10-25T02:30'), berlin).map(iso), ['2026-10-25T00:30', '2026-10-25T01:30'], '02:30 on 25 October: twice');
  t.same(instantsOfWallTime(local('2026-03-29T02:30'), berlin), [], '02:30 on 29 March: never');
  t.same(offsetTransitions(berlin, utc('2026-01-01T00:00'), utc('2027-01-01T00:00')).map(iso), ['2026-03-29T01:00', '2026-10-25T01:00'], 'the two switches of 2026');
});

t.test('days of 23 and 25 hours', async (t) => {
  const hours = (day: string) => (startOfLocalDay(dayAfter(day), berlin) - startOfLocalDay(day, berlin)) / 3_600_000;
  t.equal(iso(startOfLocalDay('2026-03-29', berlin)), '2026-03-28T23:00');
  t.equal(hours('2026-03-29'), 23, '29 March lasts 23 hours');
  t.equal(hours('2026-10-25'), 25, '25 October lasts 25 hours');
  t.equal(hours('2026-10-26'), 24);
  t.equal(localDayOf(utc('2026-10-25T22:59'), berlin), '2026-10-25', '23:59 CET is still the 25th');
  t.equal(localDayOf(utc('2026-10-25T23:00'), berlin), '2026-10-26');
});

t.test('price boundaries on the switch days and month ends', async (t) => {
  const tou: Tariff = {
    kind: 'time_of_use',
    periods: [
      { name: 'night', from: '20:00', to: '02:30', rate: 30_000 },
      { name: 'day', from: '02:30', to: '20:00', rate: 60_000 },
    ],
  };
  t.same(priceBoundaries(tou, utc('2026-03-28T12:00'), utc('2026-03-30T12:00'), berlin).map(iso), ['2026-03-28T19:00', '2026-03-29T01:00', '2026-03-29T18:00', '2026-03-30T00:30'], 'spring: 20:00 CET, 02:30 skipped -> the switch at 01:00 UTC, then CEST');
  t.same(priceBoundaries(tou, utc('2026-10-24T12:00'), utc('2026-10-26T12:00'), berlin).map(iso), ['2026-10-24T18:00', '2026-10-25T00:30', '2026-10-25T01:00', '2026-10-25T01:30', '2026-10-25T19:00', '2026-10-26T01:30'], 'autumn: 02:30 CEST, the switch back to 02:00 CET (night again), 02:30 CET');
  const single: Tariff = { kind: 'single', rate: 50_000 };
  t.same(priceBoundaries(single, utc('2026-10-31T12:00'), utc('2026-11-01T12:00'), berlin).map(iso), ['2026-10-31T23:00'], 'November begins at 00:00 CET');
  t.same(priceBoundaries(single, utc('2026-03-31T12:00'), utc('2026-04-01T12:00'), berlin).map(iso), ['2026-03-31T22:00'], 'April begins at 00:00 CEST');
});

t.test('prices, months and quota periods follow the wall clock', async (t) => {
  const tou: Tariff = { kind: 'time_of_use', periods: [{ name: 'night', from: '22:00', to: '06:00', rate: 30_000 }, { name: 'day', from: '06:00', to: '22:00', rate: 60_000 }] };
  const state = initialBillingState(utc('2026-10-24T12:00'), null, berlin);
  // 21:30 UTC is 22:30 CET on the 25th (night) but would be 23:30 at a fixed +2 (also night), and
  // 05:30 UTC on the 26th is 06:30 CET (day); at the summer offset it is 07:30 (day) -- pick 04:30 UTC:
  // 05:30 CET (night), where the summer offset would say 06:30 (day).
  t.equal(chargeUsage(tou, null, state, 1_000, utc('2026-10-26T04:30'), berlin).parts[0]!.label, 'night', '05:30 CET is night');
  t.equal(chargeUsage(tou, null, state, 1_000, utc('2026-10-26T04:30'), 120).parts[0]!.label, 'day', 'a fixed summer offset would have said day (06:30)');
  t.equal(chargeUsage(tou, null, state, 1_000, utc('2026-10-31T23:30'), berlin).state.monthKey, '2026-11', '23:30 UTC on 31 October is November in Berlin');
  const quota = { allowance: 5_000 };
  const october = initialBillingState(utc('2026-10-10T10:00'), quota, berlin);
  t.same(moveQuota(october, quota, utc('2026-10-31T22:59'), berlin, false).lapsed, [], '23:59 CET on the 31st: October still runs');
  t.same(moveQuota(october, quota, utc('2026-10-31T23:00'), berlin, false).lapsed, [{ from: '2026-10-01', until: '2026-11-01', units: 5_000 }], 'at 00:00 CET on 1 November the unused quota lapses');
});
