import t from 'tap';
import { postingDue, postingPhase, postingPhaseMs } from '../../src/domain/posting-schedule.ts';

const INTERVAL = 60_000;
const roomId = (i: number) => `D-${String(i + 1).padStart(6, '0')}`;

t.test('posting phases spread dormitories over the interval and are the same at every boot', async (t) => {
  const phases = Array.from({ length: 10_000 }, (_, i) => postingPhase(roomId(i)));
  t.ok(phases.every((p) => p >= 0 && p < 1), 'every phase in [0, 1)');
  const deciles = Array.from({ length: 10 }, (_, d) => phases.filter((p) => Math.floor(p * 10) === d).length);
  t.ok(deciles.every((n) => n > 750 && n < 1250), `each tenth of the interval holds a tenth of the rooms, within a quarter (${deciles.join(', ')})`);
  t.equal(postingPhase('D-000042'), postingPhase('D-000042'), 'deterministic');
  const ms = Array.from({ length: 1_000 }, (_, i) => postingPhaseMs(roomId(i), INTERVAL));
  t.ok(ms.every((p) => Number.isInteger(p) && p >= 0 && p < INTERVAL), 'in clock ms: whole, in [0, interval)');
});

t.test('nothing pending posts nothing; a purse posts with the first reading of a later slot of its grid', async (t) => {
  const phase = 25_000;
  t.equal(postingDue(null, 1_000_000, phase, INTERVAL), false, 'nothing pending');
  // Slots start at 25 s past each minute: [..., 85 s), [85 s, 145 s), ...
  t.equal(postingDue(90_000, 144_999, phase, INTERVAL), false, 'the same slot');
  t.equal(postingDue(90_000, 145_000, phase, INTERVAL), true, 'the next slot');
  t.equal(postingDue(144_999, 145_000, phase, INTERVAL), true, 'a charge first pending just before the boundary posts with the first reading after it');
  t.equal(postingDue(90_000, 400_000, phase, INTERVAL), true, 'several slots later (a meter away, backpressure released)');
  t.equal(postingDue(90_000, 80_000, phase, INTERVAL), false, 'a reading stamped earlier (a lying meter clock) posts nothing early');
  t.equal(postingDue(-30_000, 30_000, 0, INTERVAL), true, 'times before the epoch are slotted like any other');
  t.equal(postingDue(90_000, 90_000, 0, 0), true, 'an interval of 0 (BILLING_POST_INTERVAL_MS=0): every pending charge posts with its reading');
  t.equal(postingDue(null, 90_000, 0, 0), false, 'and still nothing when nothing is pending');
});

/**
 * A campus of rooms read every second, as the purse in the dormitory actor keeps it: the opening
 * posts at once, the first pending charge sets firstAt, a post clears it. Everything that makes a
 * whole campus post in one moment happens here: one boot, every meter opening together, and the
 * office's quota issuance posting every room at once.
 */
function simulateCampus(rooms: number, from: number, seconds: number, postEveryRoomAt: number): { postsPerSecond: Map<number, number>; longestWaitMs: number; postsPerRoomSlot: number } {
  const postsPerSecond = new Map<number, number>();
  let longestWaitMs = 0;
  let postsPerRoomSlot = 0;
  for (let room = 0; room < rooms; room++) {
    const phase = postingPhaseMs(roomId(room), INTERVAL);
    let firstAt: number | null = null;
    const slotsPosted = new Map<number, number>();
    const posted = (at: number) => {
      postsPerSecond.set(at, (postsPerSecond.get(at) ?? 0) + 1);
      const slot = Math.floor((at - phase) / INTERVAL);
      slotsPosted.set(slot, (slotsPosted.get(slot) ?? 0) + 1);
      if (firstAt !== null) longestWaitMs = Math.max(longestWaitMs, at - firstAt);
      firstAt = null;
    };
    posted(from); // every meter's opening, at the first reading after the boot
    for (let at = from + 1_000; at < from + seconds * 1_000; at += 1_000) {
      if (at === postEveryRoomAt) {
        posted(at); // the office issues the month's quota: every room's pending charges post first
        continue;
      }
      firstAt ??= at; // a whole Wh or more since the last reading
      if (postingDue(firstAt, at, phase, INTERVAL)) posted(at);
    }
    postsPerRoomSlot = Math.max(postsPerRoomSlot, ...slotsPosted.values());
  }
  return { postsPerSecond, longestWaitMs, postsPerRoomSlot };
}

t.test('a campus that booted, opened and was posted together spreads its postings over the interval', async (t) => {
  const rooms = 3_000;
  const from = Date.UTC(2026, 11, 1, 0, 0, 0);
  const issuedAt = from + 150_000;
  const { postsPerSecond, longestWaitMs, postsPerRoomSlot } = simulateCampus(rooms, from, 600, issuedAt);
  const steady = [...postsPerSecond].filter(([at]) => at !== from && at !== issuedAt).map(([, n]) => n);
  const evenShare = rooms / (INTERVAL / 1_000);
  const busiest = Math.max(...steady);
  t.ok(busiest <= 3 * evenShare, `at most three times the even share (${evenShare}) of the rooms post in any one second outside the two campus-wide moments; the busiest second: ${busiest}`);
  const afterIssue = [...postsPerSecond].filter(([at]) => at > issuedAt && at <= issuedAt + INTERVAL).map(([, n]) => n);
  t.ok(Math.max(...afterIssue) <= 3 * evenShare, `the minute after the quota issuance is spread too (busiest second ${Math.max(...afterIssue)})`);
  t.ok(longestWaitMs <= INTERVAL, `a pending charge waits at most one interval (longest ${longestWaitMs} ms)`);
  t.ok(postsPerRoomSlot <= 2, `a room posts at most once a slot besides the office's post (most in one slot: ${postsPerRoomSlot})`);
});
