import t from 'tap';
import { bucketStart, bucketStarts, cellGridFor, foldBuckets, lastDaysStart, nextBucketStart, type UsageInterval } from '../../../src/domain/reports/usage-buckets.ts';
import { ZoneRules } from '../../../src/domain/local-time.ts';

const ms = (iso: string) => Date.parse(iso);

t.test('bucket starts are cut on the campus clock', async (t) => {
  const cases: [string, UsageInterval, number, string, string][] = [
    // at, interval, offset, start, next start
    ['2026-02-28T15:59:59Z', 'day', 480, '2026-02-27T16:00:00Z', '2026-02-28T16:00:00Z'],
    ['2026-02-28T16:00:00Z', 'day', 480, '2026-02-28T16:00:00Z', '2026-03-01T16:00:00Z'],
    ['2026-02-28T16:00:00Z', 'month', 480, '2026-02-28T16:00:00Z', '2026-03-31T16:00:00Z'],
    ['2026-02-28T15:00:00Z', 'month', 480, '2026-01-31T16:00:00Z', '2026-02-28T16:00:00Z'],
    ['2026-12-31T16:30:00Z', 'month', 480, '2026-12-31T16:00:00Z', '2027-01-31T16:00:00Z'],
    ['2026-03-01T05:00:00Z', 'month', -300, '2026-03-01T05:00:00Z', '2026-04-01T05:00:00Z'],
    ['2026-03-01T04:59:00Z', 'day', -300, '2026-02-28T05:00:00Z', '2026-03-01T05:00:00Z'],
    // UTC+5:45: a local quarter hour is not a UTC quarter hour, nor a local hour a UTC hour.
    ['2026-03-01T00:20:00Z', '15m', 345, '2026-03-01T00:15:00Z', '2026-03-01T00:30:00Z'],
    ['2026-03-01T00:20:00Z', 'hour', 345, '2026-03-01T00:15:00Z', '2026-03-01T01:15:00Z'],
    ['2026-03-01T00:10:00Z', 'hour', 345, '2026-02-28T23:15:00Z', '2026-03-01T00:15:00Z'],
  ];
  for (const [at, interval, offset, start, next] of cases) {
    t.equal(new Date(bucketStart(ms(at), interval, offset)).toISOString(), new Date(ms(start)).toISOString(), `${at} ${interval} at UTC${offset >= 0 ? '+' : ''}${offset / 60}: starts ${start}`);
    t.equal(new Date(nextBucketStart(ms(start), interval, offset)).toISOString(), new Date(ms(next)).toISOString(), `the ${interval} after ${start} starts ${next}`);
  }
  t.same(bucketStarts(ms('2026-01-15T00:00:00Z'), ms('2026-03-01T00:00:00Z'), 'month', 480, 12)?.map((x) => new Date(x).toISOString()), ['2025-12-31T16:00:00.000Z', '2026-01-31T16:00:00.000Z', '2026-02-28T16:00:00.000Z'], 'January, February and March (local) cover mid-January to 08:00 local on 1 March');
  t.equal(bucketStarts(0, 86_400_000 * 2, '15m', 0, 100), null, 'more buckets than allowed: refused');
});

t.test('a student’s last days start at local midnight, counted in calendar days of the zone (DST nights included)', async (t) => {
  const berlin = new ZoneRules('Europe/Berlin');
  const iso = (at: number) => new Date(at).toISOString();
  // 00:30 CEST on 30 March 2026: 29 March (spring forward) lasted 23 hours. Three days: 28, 29, 30 March.
  t.equal(iso(lastDaysStart(ms('2026-03-29T22:30:00Z'), 3, berlin)), '2026-03-27T23:00:00.000Z', 'from 28 March 00:00 CET (two 24-hour steps back would reach 27 March)');
  t.equal(iso(lastDaysStart(ms('2026-03-29T22:30:00Z'), 1, berlin)), '2026-03-29T22:00:00.000Z', 'one day: today from 00:00 CEST');
  // 23:30 CET on 25 October 2026: the day lasted 25 hours; two days are 24 and 25 October.
  t.equal(iso(lastDaysStart(ms('2026-10-25T22:30:00Z'), 2, berlin)), '2026-10-23T22:00:00.000Z', 'from 24 October 00:00 CEST');
  t.equal(iso(lastDaysStart(ms('2026-10-25T22:30:00Z'), 1, berlin)), '2026-10-24T22:00:00.000Z', '25 October began at 00:00 CEST');
  t.equal(iso(lastDaysStart(ms('2026-11-30T15:59:00Z'), 14, 480)), '2026-11-16T16:00:00.000Z', 'a fixed UTC+8: 14 days, today included');
});

t.test('slices fold into their buckets: sums, and the highest peak', async (t) => {
  const starts = [0, 100, 200];
  const buckets = foldBuckets(
    starts,
    300,
    [
      { at: -1, energyWh: 1000, peakW: 9, waterL: 1 },
      { at: 0, energyWh: 5, peakW: 50, waterL: 1 },
      { at: 99, energyWh: 7, peakW: 40, waterL: 2 },
      { at: 250, energyWh: 3, peakW: 10, waterL: 0 },
      { at: 300, energyWh: 1000, peakW: 9, waterL: 1 },
    ],
    [{ at: 150, costFen: 4, waterCostFen: 1 }],
  );
  t.same(
    buckets.map((b) => [b.energyWh, b.peakW, b.waterL, b.costFen, b.waterCostFen]),
    [
      [12, 50, 3, 0, 0],
      [0, 0, 0, 4, 1],
      [3, 10, 0, 0, 0],
    ],
    'each slice in the bucket it starts in; outside the range left out',
  );
  t.same(foldBuckets([0], 100, [{ at: 0, energyWh: 1, peakW: 1, waterL: 0 }], null)[0], { start: '1970-01-01T00:00:00.000Z', energyWh: 1, costFen: null, peakW: 1, waterL: null, waterCostFen: null }, 'no money (a circuit): null, not zero');
});

t.test('Europe/Berlin: days of 23 and 25 hours, months from local midnight, and the SQL grid that fits', async (t) => {
  const berlin = new ZoneRules('Europe/Berlin');
  const iso = (at: number) => new Date(at).toISOString();
  t.equal(iso(bucketStart(ms('2026-10-25T12:00:00Z'), 'day', berlin)), '2026-10-24T22:00:00.000Z', 'the 25th began at midnight CEST');
  t.equal(iso(nextBucketStart(ms('2026-10-24T22:00:00Z'), 'day', berlin)), '2026-10-25T23:00:00.000Z', 'and lasted 25 hours');
  t.equal(iso(nextBucketStart(ms('2026-03-28T23:00:00Z'), 'day', berlin)), '2026-03-29T22:00:00.000Z', '2026-03-29 lasted 23 hours');
  t.equal(iso(bucketStart(ms('2026-11-15T00:00:00Z'), 'month', berlin)), '2026-10-31T23:00:00.000Z', 'November begins at midnight CET');
  t.equal(iso(bucketStart(ms('2026-10-25T01:30:00Z'), 'hour', berlin)), '2026-10-25T01:00:00.000Z', 'the second 02:00 hour is an hour of its own');
  t.equal(iso(nextBucketStart(ms('2026-10-25T00:00:00Z'), 'hour', berlin)), '2026-10-25T01:00:00.000Z', 'after the first');
  const days = bucketStarts(ms('2026-10-24T12:00:00Z'), ms('2026-10-26T12:00:00Z'), 'day', berlin, 10)!;
  t.same(days.map(iso), ['2026-10-23T22:00:00.000Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z'], 'three local days');
  const end = nextBucketStart(days.at(-1)!, 'day', berlin);
  t.same(cellGridFor(days, end), { sizeMs: 3_600_000, shiftMs: 0 }, 'across the switch only hour cells fit every midnight');
  const winter = bucketStarts(ms('2026-12-01T12:00:00Z'), ms('2026-12-05T12:00:00Z'), 'day', berlin, 10)!;
  t.same(cellGridFor(winter, nextBucketStart(winter.at(-1)!, 'day', berlin)), { sizeMs: 86_400_000, shiftMs: 3_600_000 }, 'without a switch, day cells on the local midnight');
  const lordHowe = new ZoneRules('Australia/Lord_Howe');
  const lh = bucketStarts(ms('2026-04-03T12:00:00Z'), ms('2026-04-06T12:00:00Z'), 'day', lordHowe, 10)!;
  t.equal(cellGridFor(lh, nextBucketStart(lh.at(-1)!, 'day', lordHowe)).sizeMs, 900_000, "Lord Howe's half-hour switch needs quarter-hour cells");
});
