import t, { type Test } from 'tap';
import { ZoneRules } from '../../../src/domain/local-time.ts';
import { parseQuietHours, quietUntil } from '../../../src/domain/notifications/delivery-policy.ts';

/**
 * Quiet hours on the campus's IANA zone (pure): 22:00-07:00 local hold on the nights a
 * daylight saving zone switches. Europe/Berlin 2026: spring forward on 29 March at 02:00 CET
 * (01:00Z) to 03:00 CEST; fall back on 25 October at 03:00 CEST (01:00Z) to 02:00 CET.
 * Expected instants are written by hand from those offsets (CET = UTC+1, CEST = UTC+2).
 */
const ms = (iso: string) => Date.parse(iso);
const iso = (at: number | undefined) => (at === undefined ? undefined : new Date(at).toISOString());
const berlin = new ZoneRules('Europe/Berlin');
const night = parseQuietHours('22:00-07:00');
/** Each case: the instant, when its quiet hours end (undefined: not quiet), what it shows. */
type Case = readonly [string, string | undefined, string];
const check = (t: Test, cases: readonly Case[]) => {
  for (const [at, until, what] of cases) t.equal(iso(quietUntil(ms(at), night, berlin)), until, what);
};

t.test('the spring-forward night: quiet from 22:00 CET to 07:00 CEST (8 hours of real time)', async (t) => {
  check(t, [
    ['2026-03-28T20:59:00Z', undefined, '21:59 CET is not quiet'],
    ['2026-03-28T21:00:00Z', '2026-03-29T05:00:00.000Z', '22:00 CET waits until 07:00 CEST'],
    ['2026-03-29T00:30:00Z', '2026-03-29T05:00:00.000Z', '01:30 CET, before the switch'],
    ['2026-03-29T01:00:00Z', '2026-03-29T05:00:00.000Z', 'the switch itself (03:00 CEST)'],
    ['2026-03-29T04:59:00Z', '2026-03-29T05:00:00.000Z', '06:59 CEST'],
    ['2026-03-29T05:00:00Z', undefined, '07:00 CEST is no longer quiet (a fixed +01:00 would say 06:00, still quiet)'],
  ]);
});

t.test('the fall-back night: quiet from 22:00 CEST to 07:00 CET (10 hours of real time), both passes of the repeated hour', async (t) => {
  check(t, [
    ['2026-10-24T19:59:00Z', undefined, '21:59 CEST is not quiet'],
    ['2026-10-24T20:00:00Z', '2026-10-25T06:00:00.000Z', '22:00 CEST waits until 07:00 CET'],
    ['2026-10-25T00:30:00Z', '2026-10-25T06:00:00.000Z', '02:30 CEST, first pass'],
    ['2026-10-25T01:30:00Z', '2026-10-25T06:00:00.000Z', '02:30 CET, second pass'],
    ['2026-10-25T05:00:00Z', '2026-10-25T06:00:00.000Z', '06:00 CET (a fixed +02:00 would say 07:00, not quiet)'],
    ['2026-10-25T06:00:00Z', undefined, '07:00 CET is no longer quiet'],
  ]);
});

t.test('an end inside the repeated hour or the skipped hour', async (t) => {
  const early = parseQuietHours('22:00-02:30');
  t.equal(iso(quietUntil(ms('2026-10-25T00:10:00Z'), early, berlin)), '2026-10-25T00:30:00.000Z', '02:10 CEST (first pass) waits for the first 02:30');
  t.equal(iso(quietUntil(ms('2026-10-25T01:15:00Z'), early, berlin)), '2026-10-25T01:30:00.000Z', '02:15 CET (second pass) waits for the second 02:30, not one already past');
  t.equal(iso(quietUntil(ms('2026-03-29T00:00:00Z'), early, berlin)), '2026-03-29T01:00:00.000Z', '01:00 CET: 02:30 does not exist that night, the switch (03:00 CEST) ends it');
  t.equal(iso(quietUntil(ms('2026-03-29T01:00:00Z'), early, berlin)), undefined, '03:00 CEST is after 02:30: not quiet');
  const small = parseQuietHours('02:30-06:00');
  t.equal(iso(quietUntil(ms('2026-03-29T01:00:00Z'), small, berlin)), '2026-03-29T04:00:00.000Z', 'a start in the skipped hour: 03:00 CEST is inside, until 06:00 CEST');
});

t.test('a zone without daylight saving, a fixed offset, and no quiet hours', async (t) => {
  const shanghai = new ZoneRules('Asia/Shanghai');
  t.equal(iso(quietUntil(ms('2026-10-01T14:00:00Z'), night, shanghai)), '2026-10-01T23:00:00.000Z', '22:00 in Shanghai waits until 07:00 next day');
  t.equal(iso(quietUntil(ms('2026-10-01T20:00:00Z'), night, 480)), '2026-10-01T23:00:00.000Z', '04:00 at a fixed UTC+8 waits until 07:00 the same day');
  t.equal(quietUntil(ms('2026-10-01T04:00:00Z'), night, shanghai), undefined, 'noon is not quiet');
  t.equal(quietUntil(ms('2026-10-01T14:00:00Z'), null, shanghai), undefined, 'none configured');
  t.equal(quietUntil(ms('2026-10-01T14:00:00Z'), parseQuietHours('22:00-22:00'), shanghai), undefined, 'an empty window is never quiet');
  t.equal(iso(quietUntil(ms('2026-10-01T06:00:00Z'), parseQuietHours('13:00-15:00'), shanghai)), '2026-10-01T07:00:00.000Z', 'a window that does not wrap: 14:00 waits until 15:00');
});
