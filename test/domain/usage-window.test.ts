import t from 'tap';
import { ELECTRIC_LIMITS } from '../../src/domain/register-billing.ts';
import { admitUsage, USAGE_WINDOW_MS } from '../../src/domain/usage-window.ts';

const MINUTE = 60_000;

t.test('usage is admitted while everything since the window opened fits 30 kW of server time + 1 kWh', async (t) => {
  // One minute of server time: 500 Wh of 30 kW + 1,000 Wh slack = 1,500 Wh in all.
  const first = admitUsage({ since: 0, used: 0 }, 1_000, MINUTE, ELECTRIC_LIMITS);
  t.same(first, { ok: true, window: { since: 0, used: 1_000 } });
  if (!first.ok) throw new Error('unreachable');
  t.same(admitUsage(first.window, 500, MINUTE, ELECTRIC_LIMITS), { ok: true, window: { since: 0, used: 1_500 } }, 'exactly the limit');
  t.same(admitUsage(first.window, 501, MINUTE, ELECTRIC_LIMITS), { ok: false, used: 1_501, maxPlausible: 1_500, sinceMs: MINUTE }, 'one Wh more is held: a burst gets one slack, not one per frame');
});

t.test('a burst of frames, each within the per-reading rule, is stopped at the physical limit', async (t) => {
  let window = { since: 0, used: 0 };
  let admitted = 0;
  for (let frame = 0; frame < 20; frame++) {
    const verdict = admitUsage(window, 1_000, 1_000, ELECTRIC_LIMITS); // 20 frames of 1 kWh in one second
    if (!verdict.ok) break;
    window = verdict.window;
    admitted++;
  }
  t.equal(admitted, 1, 'one second of 30 kW (8 Wh) + the slack admits one 1 kWh frame, not twenty');
});

t.test('the window moves on once it is 15 minutes old; an outage keeps it open for the backlog', async (t) => {
  const old = admitUsage({ since: 0, used: 2_000 }, 100, USAGE_WINDOW_MS, ELECTRIC_LIMITS);
  t.same(old, { ok: true, window: { since: USAGE_WINDOW_MS, used: 0 } }, 'a new window starts at the admitting reading');
  // Three hours without a reading (gateway offline): the register caught up by 60 kWh at 20 kW.
  t.same(admitUsage({ since: 0, used: 0 }, 60_000, 3 * 60 * MINUTE, ELECTRIC_LIMITS).ok, true, 'the backlog is billed');
  t.same(admitUsage({ since: 0, used: 0 }, 92_000, 3 * 60 * MINUTE, ELECTRIC_LIMITS).ok, false, 'more than 30 kW for three hours is not');
});
