import t from 'tap';
import { boundSampleTime } from '../../src/domain/sample-time.ts';

const NOW = Date.parse('2026-12-10T12:00:00+08:00');
const MINUTE = 60_000;

t.test('a sample\'s time is its ts bounded by the server\'s receive time', async (t) => {
  const rows: Array<[what: string, ts: number, at: number, skew: string]> = [
    ['on time', NOW - 2_000, NOW - 2_000, 'none'],
    ['a clock a minute fast: clamped to the receive time, not counted', NOW + MINUTE, NOW, 'none'],
    ['exactly 2 minutes fast', NOW + 2 * MINUTE, NOW, 'none'],
    ['more than 2 minutes fast: counted', NOW + 2 * MINUTE + 1, NOW, 'future'],
    ['two years ahead', NOW + 730 * 24 * 60 * MINUTE, NOW, 'future'],
    ['not a number', Number.NaN, NOW, 'future'],
    ['infinitely far ahead', Number.POSITIVE_INFINITY, NOW, 'future'],
    ['a frame 15 minutes late', NOW - 15 * MINUTE, NOW - 15 * MINUTE, 'none'],
    ['a clock 12 hours behind: clamped to 15 minutes and counted', NOW - 12 * 60 * MINUTE, NOW - 15 * MINUTE, 'past'],
    ['the epoch', 0, NOW - 15 * MINUTE, 'past'],
  ];
  for (const [what, ts, at, skew] of rows) t.same(boundSampleTime(ts, NOW), { at, skew }, what);
});
