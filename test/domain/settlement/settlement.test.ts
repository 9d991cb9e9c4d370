import fc from 'fast-check';
import t from 'tap';
import { dayFromNumber, dayNumber, daysBetween, isLocalDay, localDayOf, startOfLocalDay } from '../../../src/domain/settlement/local-day.ts';
import { daysOf, settleStay, type RoomDay, type Stay } from '../../../src/domain/settlement/settlement.ts';

const day = (d: number) => `2026-09-${String(d).padStart(2, '0')}`;
const consumption = (d: number, fen: number): RoomDay => ({ day: day(d), consumptionFen: -fen, sharedCreditFen: 0 });

t.test('local days', async (t) => {
  t.ok(isLocalDay('2026-09-01'));
  t.notOk(isLocalDay('2026-02-30'), 'not a calendar day');
  t.notOk(isLocalDay('2026-9-1'), 'not zero-padded');
  t.notOk(isLocalDay(20260901));
  t.equal(daysBetween('2026-08-31', '2026-09-02'), 2, 'across a month end');
  t.equal(dayFromNumber(dayNumber('2028-02-29')), '2028-02-29', 'leap day round trip');
  // 2026-09-01T16:30Z is 00:30 on 09-02 in China (UTC+8).
  t.equal(localDayOf(Date.parse('2026-09-01T16:30:00Z'), 480), '2026-09-02');
  t.equal(localDayOf(Date.parse('2026-09-01T15:59:59Z'), 480), '2026-09-01');
  t.equal(startOfLocalDay('2026-09-02', 480), Date.parse('2026-09-01T16:00:00Z'));
  t.same(daysOf('2026-09-29', '2026-10-02'), ['2026-09-29', '2026-09-30', '2026-10-01']);
});

t.test('settling one stay: a table of cases', async (t) => {
  const A: Stay = { occupancyId: 1, fromDay: day(1), toDay: null };
  const B: Stay = { occupancyId: 2, fromDay: day(1), toDay: null };
  const C: Stay = { occupancyId: 3, fromDay: day(5), toDay: null };
  const rows: ReadonlyArray<{
    name: string;
    leaver: Stay & { toDay: string };
    stays: Stay[];
    days: RoomDay[];
    contributionsFen: number;
    policy?: 'per-share' | 'none';
    expect: { days: number; consumptionShareFen: number; sharedCreditShareFen: number; equityFen: number; direction: string; amountFen: number };
  }> = [
    {
      name: 'alone: pays all of the consumption, refunded the rest',
      leaver: { ...A, toDay: day(11) },
      stays: [A],
      days: [consumption(1, 300), consumption(2, 500)],
      contributionsFen: 5000,
      expect: { days: 10, consumptionShareFen: -800, sharedCreditShareFen: 0, equityFen: 4200, direction: 'refund', amountFen: 4200 },
    },
    {
      name: 'two in the room split each day; the odd fen rotates (day 1 -> second position, day 2 -> first)',
      leaver: { ...A, toDay: day(11) },
      stays: [A, B],
      // dayNumber(2026-09-01) = 20697 (odd): the odd fen goes to position 1 on the 1st, 0 on the 2nd.
      days: [consumption(1, 301), consumption(2, 301)],
      contributionsFen: 1000,
      expect: { days: 10, consumptionShareFen: -150 - 151, sharedCreditShareFen: 0, equityFen: 1000 - 301, direction: 'refund', amountFen: 699 },
    },
    {
      name: 'a roommate arriving later shares only from their first day',
      leaver: { ...A, toDay: day(11) },
      stays: [A, B, C],
      days: [consumption(4, 600), consumption(5, 600)],
      contributionsFen: 0,
      expect: { days: 10, consumptionShareFen: -300 - 200, sharedCreditShareFen: 0, equityFen: -500, direction: 'charge', amountFen: 500 },
    },
    {
      name: 'the check-out day is not the leaver’s; the check-in day is',
      leaver: { occupancyId: 1, fromDay: day(3), toDay: day(5) },
      stays: [{ occupancyId: 1, fromDay: day(3), toDay: day(5) }],
      days: [consumption(2, 100), consumption(3, 10), consumption(4, 20), consumption(5, 1000)],
      contributionsFen: 0,
      expect: { days: 2, consumptionShareFen: -30, sharedCreditShareFen: 0, equityFen: -30, direction: 'charge', amountFen: 30 },
    },
    {
      name: 'an anonymous recharge is shared like consumption',
      leaver: { ...A, toDay: day(11) },
      stays: [A, B],
      days: [{ day: day(2), consumptionFen: -200, sharedCreditFen: 1000 }],
      contributionsFen: 0,
      expect: { days: 10, consumptionShareFen: -100, sharedCreditShareFen: 500, equityFen: 400, direction: 'refund', amountFen: 400 },
    },
    {
      name: 'policy none: computed, nothing moves',
      leaver: { ...A, toDay: day(11) },
      stays: [A],
      days: [consumption(1, 300)],
      contributionsFen: 5000,
      policy: 'none',
      expect: { days: 10, consumptionShareFen: -300, sharedCreditShareFen: 0, equityFen: 4700, direction: 'none', amountFen: 0 },
    },
    {
      name: 'checked in and out the same day: no days, contributions back',
      leaver: { occupancyId: 9, fromDay: day(7), toDay: day(7) },
      stays: [{ occupancyId: 9, fromDay: day(7), toDay: day(7) }, A],
      days: [consumption(7, 999)],
      contributionsFen: 250,
      expect: { days: 0, consumptionShareFen: 0, sharedCreditShareFen: 0, equityFen: 250, direction: 'refund', amountFen: 250 },
    },
    {
      name: 'exactly even: nothing moves',
      leaver: { ...A, toDay: day(2) },
      stays: [A],
      days: [consumption(1, 700)],
      contributionsFen: 700,
      expect: { days: 1, consumptionShareFen: -700, sharedCreditShareFen: 0, equityFen: 0, direction: 'none', amountFen: 0 },
    },
  ];
  for (const row of rows) {
    const verdict = settleStay({ policy: row.policy ?? 'per-share', leaver: row.leaver, stays: row.stays, days: row.days, contributionsFen: row.contributionsFen });
    t.match(verdict, row.expect, row.name);
  }
  t.throws(() => settleStay({ policy: 'per-share', leaver: { occupancyId: 1, fromDay: day(5), toDay: day(4) }, stays: [], days: [], contributionsFen: 0 }), RangeError, 'a stay ending before it begins');
  t.throws(
    () => settleStay({ policy: 'per-share', leaver: { ...A, toDay: day(3) }, stays: [A], days: [consumption(1, 1), consumption(1, 2)], contributionsFen: 0 }),
    RangeError,
    'a day listed twice',
  );
});

t.test('property: when everyone has left, the shares of every day add up to what the room spent', async () => {
  // Random stays in one room over 20 days, random daily totals; settle every stay at its end.
  // Sum of shares over all stays = sum of the day totals on days somebody was present.
  const stayArb = fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 10 })).map(([from, length]) => ({ from, to: Math.min(21, from + length) }));
  fc.assert(
    fc.property(fc.array(stayArb, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: -5000, max: 0 }), { minLength: 20, maxLength: 20 }), (spans, totals) => {
      const stays = spans.map((s, i) => ({ occupancyId: i + 1, fromDay: day(s.from), toDay: day(s.to) }));
      const days = totals.map((fen, i) => ({ day: day(i + 1), consumptionFen: fen, sharedCreditFen: 0 }));
      let settled = 0;
      for (const leaver of stays) settled += settleStay({ policy: 'per-share', leaver, stays, days, contributionsFen: 0 }).consumptionShareFen;
      const occupied = days.filter((d) => stays.some((s) => s.fromDay <= d.day && d.day < s.toDay)).reduce((sum, d) => sum + d.consumptionFen, 0);
      return settled === occupied;
    }),
  );
});
