import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { applyDelta, PublishedStates } from '../../src/live/live-delta.ts';
import type { CircuitLiveState, DormitoryLiveState, DormitoryState } from '../../src/live/live-feed.ts';

const STATES: readonly DormitoryState[] = ['normal', 'low_balance', 'cut_arrears', 'cut_safety', 'offline'];
const KINDS: readonly CircuitLiveState['kind'][] = ['lighting', 'socket', 'ac'];

/** A small deterministic generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

function change(state: DormitoryLiveState, next: () => number): DormitoryLiveState {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  // Few values per field, so fields often change back to what was published.
  const circuits = next() < 0.05 ? KINDS.slice(0, 1 + Math.floor(next() * 3)) : state.circuits.map((c) => c.kind);
  return {
    ...state,
    state: next() < 0.3 ? pick(STATES) : state.state,
    balance: next() < 0.3 ? { electricity: pick([-5, 0, 150, 7000]), water: pick([0, 2000]) } : state.balance,
    powerW: next() < 0.7 ? pick([0, 35, 245, 1800]) : state.powerW,
    online: next() < 0.2 ? !state.online : state.online,
    activeAlarms: next() < 0.1 ? pick([0, 1, 2]) : state.activeAlarms,
    lastReadingAt: next() < 0.8 ? pick([null, 1_000, 2_000, 3_000]) : state.lastReadingAt,
    ...(next() < 0.1 ? { daysLeft: { electricity: { days: pick([null, 0, 3.4]), dailyUseFen: 900 }, water: { days: null, dailyUseFen: 0 } } } : {}),
    circuits: circuits.map((kind, i) => {
      const before = state.circuits[i];
      return {
        kind,
        supply: next() < 0.2 ? pick(['on', 'off'] as const) : (before?.supply ?? 'on'),
        powerW: next() < 0.6 ? pick([0, 35, 60]) : (before?.powerW ?? 0),
        pf: next() < 0.3 ? pick([0.9, 0.95]) : (before?.pf ?? 0.9),
        cutReason: next() < 0.2 ? pick([null, 'arrears', 'malignant_load']) : (before?.cutReason ?? null),
      };
    }),
  };
}

t.test('deltas applied to a client copy always give the published state (random changes, changed back included)', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const next = random(seed);
    const published = new PublishedStates();
    let live: DormitoryLiveState = {
      id: 'A-101', building: 'BA', floor: 1, room: '101', state: 'normal', balance: { electricity: 7000, water: 2000 }, powerW: 0, online: true,
      circuits: KINDS.map((kind) => ({ kind, supply: 'on', powerW: 0, pf: 0.9, cutReason: null })), activeAlarms: 0, lastReadingAt: null,
    };
    const first = published.publish(live)!;
    let copy = applyDelta({ ...live, circuits: [] }, first);
    t.ok(isDeepStrictEqual(copy, live), 'the first delta is the whole state');
    let empty = 0;
    for (let step = 0; step < 2_000; step++) {
      live = change(live, next);
      const delta = published.publish(live);
      if (delta) copy = applyDelta(copy, delta);
      else empty++;
      if (!isDeepStrictEqual(copy, live)) {
        t.fail(`seed ${seed} step ${step}: the copy differs (${JSON.stringify(copy)} against ${JSON.stringify(live)})`);
        return;
      }
    }
    t.ok(empty > 0, `seed ${seed}: 2,000 changes applied; ${empty} changed nothing a client shows and sent nothing`);
  }
});

t.test('a delta names only what changed; an unchanged state yields none', async (t) => {
  const published = new PublishedStates();
  const state: DormitoryLiveState = {
    id: 'A-101', building: 'BA', floor: 1, room: '101', state: 'normal', balance: { electricity: 7000, water: 2000 }, powerW: 245, online: true,
    circuits: [{ kind: 'lighting', supply: 'on', powerW: 35, pf: 0.95, cutReason: null }, { kind: 'socket', supply: 'on', powerW: 210, pf: 0.9, cutReason: null }], activeAlarms: 0, lastReadingAt: 1_000,
  };
  published.publish(state);
  t.equal(published.publish({ ...state }), undefined, 'the same state again: no delta');
  t.same(published.publish({ ...state, powerW: 250, lastReadingAt: 2_000, circuits: [state.circuits[0]!, { ...state.circuits[1]!, powerW: 215 }] }), { id: 'A-101', powerW: 250, lastReadingAt: 2_000, circuitChanges: [[1, { powerW: 215 }]] });
  t.same(published.publish({ ...state, powerW: 250, lastReadingAt: 2_000, balance: { electricity: 6990, water: 2000 }, circuits: [state.circuits[0]!, { ...state.circuits[1]!, powerW: 215 }] }), { id: 'A-101', balance: { electricity: 6990, water: 2000 } }, 'a charge: the balance alone');
});
