import t from 'tap';
import {
  DEFAULT_RECLOSE_POLICY_CONFIG,
  evaluateReclosePolicy,
  initialReclosePolicyState,
  validateReclosePolicyConfig,
  type ReclosePolicyConfig,
  type ReclosePolicyInput,
  type ReclosePolicyState,
} from '../../../src/domain/rules/reclose-policy.ts';
import type { ActionVerdict } from '../../../src/domain/rules/rule-verdict.ts';
import { local, run, UTC_PLUS_8 } from './samples.ts';

const trip = (at: number): ReclosePolicyInput => ({ type: 'tripped', at, zone: UTC_PLUS_8, reason: 'malignant_load' });
const tick = (at: number): ReclosePolicyInput => ({ type: 'tick', at, zone: UTC_PLUS_8 });
const release = (at: number): ReclosePolicyInput => ({ type: 'releasedByOperator', at, zone: UTC_PLUS_8 });
const feed = (inputs: readonly ReclosePolicyInput[], config: ReclosePolicyConfig = DEFAULT_RECLOSE_POLICY_CONFIG, state: ReclosePolicyState = initialReclosePolicyState()) =>
  run(evaluateReclosePolicy, config, state, inputs);
const summary = (verdicts: ReturnType<typeof feed>['verdicts']) =>
  verdicts.map((v) => [v.index, v.verdict.action, (v.verdict as ActionVerdict).detail]);

/** Trip at `at`, reclose after the default 60 s cooldown. */
const tripAndReclose = (at: number): ReclosePolicyInput[] => [trip(at), tick(at + 60_000)];

t.test('recloses after the cooldown, at most 3 a day, then locked until released', async (t) => {
  const at = (minute: number, second = 0, ms = 0) => local(2025, 3, 10, 20, minute, second, ms);
  const inputs = [
    trip(at(0)),
    tick(at(0, 59, 999)),
    tick(at(1)),
    ...tripAndReclose(at(2)),
    ...tripAndReclose(at(4)),
    trip(at(6)),
    tick(at(7)),
    tick(local(2025, 3, 11, 8, 0)),
    release(local(2025, 3, 11, 8, 30)),
    trip(local(2025, 3, 11, 8, 31)),
  ];
  const { verdicts, state } = feed(inputs);
  t.same(summary(verdicts), [
    [2, 'restore', 'automatic reclose 1 of 3 today'],
    [4, 'restore', 'automatic reclose 2 of 3 today'],
    [6, 'restore', 'automatic reclose 3 of 3 today'],
    [7, 'alarm', 'locked off: 3 of 3 automatic recloses used today; operator release required'],
    [10, 'restore', 'released by operator'],
  ]);
  t.equal((verdicts[0]!.verdict as ActionVerdict).reason, 'malignant_load', 'the restore names the trip it undoes');
  t.equal(state.phase, 'cooling', 'after a release the count starts again');
  t.equal(state.recloseAt, local(2025, 3, 11, 8, 32));
});

t.test('the count resets at local midnight; a lock-out does not', async (t) => {
  const threeToday = [...tripAndReclose(local(2025, 3, 10, 9)), ...tripAndReclose(local(2025, 3, 10, 12)), ...tripAndReclose(local(2025, 3, 10, 18))];
  const lastMs = feed([...threeToday, trip(local(2025, 3, 10, 23, 59, 59, 999))]);
  t.equal(lastMs.state.phase, 'locked', '23:59:59.999 is still the same day');
  t.equal(feed([tick(local(2025, 3, 11, 0, 1))], DEFAULT_RECLOSE_POLICY_CONFIG, lastMs.state).state.phase, 'locked');

  const nextDay = feed([...threeToday, trip(local(2025, 3, 11)), tick(local(2025, 3, 11, 0, 1))]);
  t.same(summary(nextDay.verdicts).at(-1), [7, 'restore', 'automatic reclose 1 of 3 today'], '00:00 local is a new day');

  // Local midnight, not UTC midnight: 07:01 in UTC+8 is 23:01 UTC of the day before.
  const early = [...tripAndReclose(local(2025, 3, 10, 7)), ...tripAndReclose(local(2025, 3, 10, 12)), ...tripAndReclose(local(2025, 3, 10, 18))];
  t.equal(feed([...early, trip(local(2025, 3, 10, 23, 30))]).state.phase, 'locked', 'UTC+8: three recloses on Mar 10');
  const utc = (input: ReclosePolicyInput): ReclosePolicyInput => ({ ...input, zone: 0 });
  const inUtc = feed([...early, trip(local(2025, 3, 10, 23, 30))].map(utc));
  t.equal(inUtc.state.phase, 'cooling', 'UTC: the first reclose was on Mar 9');
});

t.test('a cooldown crossing midnight recloses into the new day', async (t) => {
  const two = [...tripAndReclose(local(2025, 3, 10, 21)), ...tripAndReclose(local(2025, 3, 10, 22))];
  const { verdicts, state } = feed([...two, trip(local(2025, 3, 10, 23, 59, 30)), tick(local(2025, 3, 11, 0, 0, 30))]);
  t.same(summary(verdicts).at(-1), [5, 'restore', 'automatic reclose 1 of 3 today']);
  t.equal(state.reclosesToday, 1);
});

t.test('edges: zero recloses a day, trips while cooling, ticks while closed', async (t) => {
  const never = feed([trip(local(2025, 3, 10, 20))], { cooldownSeconds: 60, maxReclosesPerDay: 0 });
  t.same(summary(never.verdicts), [[0, 'alarm', 'locked off: 0 of 0 automatic recloses used today; operator release required']]);
  const cooling = feed([trip(local(2025, 3, 10, 20)), trip(local(2025, 3, 10, 20, 0, 30)), tick(local(2025, 3, 10, 20, 1))]);
  t.same(summary(cooling.verdicts), [[2, 'restore', 'automatic reclose 1 of 3 today']], 'the second trip does not push the reclose back');
  t.same(feed([tick(local(2025, 3, 10, 20)), release(local(2025, 3, 10, 20))]).verdicts, []);
  const instant = feed([trip(local(2025, 3, 10, 20)), tick(local(2025, 3, 10, 20))], { cooldownSeconds: 0, maxReclosesPerDay: 3 });
  t.equal(instant.verdicts.length, 1, 'cooldown 0 recloses on the next tick');
});

t.test('validateReclosePolicyConfig', async (t) => {
  const ok = validateReclosePolicyConfig({ maxReclosesPerDay: 5 });
  t.ok(ok.ok && ok.config.maxReclosesPerDay === 5 && ok.config.cooldownSeconds === 60);
  const rows: ReadonlyArray<[unknown, string]> = [
    [null, ''],
    [{ maxReclosesPerDay: 2.5 }, 'maxReclosesPerDay'],
    [{ maxReclosesPerDay: -1 }, 'maxReclosesPerDay'],
    [{ cooldownSeconds: 86_401 }, 'cooldownSeconds'],
    [{ cooldown: 60 }, 'cooldown'],
  ];
  for (const [input, field] of rows) {
    const result = validateReclosePolicyConfig(input);
    t.equal(result.ok ? '(ok)' : result.field, field, JSON.stringify(input));
  }
});
