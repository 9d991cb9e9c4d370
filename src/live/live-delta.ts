import type { CircuitLiveState, DormitoryLiveState } from './live-feed.ts';

/**
 * The `delta` format of the live feed (docs/websocket.md, "Deltas"): per dormitory, only the
 * fields that changed since the state published at the previous flush. A reading changes the
 * power figures and the time of the last reading; sending the whole state (about 400 bytes) for
 * that was most of what 1,000 wall displays cost the server (issue 13).
 *
 * - `id` is always present; any other field of DormitoryLiveState is present only when changed,
 *   with its whole new value (`balance` and `daysLeft` as whole objects);
 * - `circuitChanges`: `[index, fields]` pairs, each the changed fields of the circuit at that
 *   index of the dormitory's `circuits`;
 * - `circuits` (whole) replaces the list instead when its shape changed (a meter added or removed).
 */
export interface DormitoryDelta {
  readonly id: string;
  state?: DormitoryLiveState['state'];
  balance?: DormitoryLiveState['balance'];
  powerW?: number;
  online?: boolean;
  activeAlarms?: number;
  lastReadingAt?: number | null;
  daysLeft?: DormitoryLiveState['daysLeft'];
  floor?: number;
  room?: string;
  building?: string;
  circuits?: readonly CircuitLiveState[];
  circuitChanges?: [number, Partial<CircuitLiveState>][];
}

interface PublishedCircuit {
  kind: CircuitLiveState['kind'];
  supply: CircuitLiveState['supply'];
  powerW: number;
  pf: number;
  cutReason: string | null;
}

/** A dormitory as last published: a copy of its own (the feed's states are refreshed in place), updated in place. */
interface Published {
  building: string;
  floor: number;
  room: string;
  state: DormitoryLiveState['state'];
  electricity: number;
  water: number;
  powerW: number;
  online: boolean;
  activeAlarms: number;
  lastReadingAt: number | null;
  /** `daysLeft` as published (the dormitory replaces the object with each estimate), and as text to compare a new object by. */
  daysLeftObject: DormitoryLiveState['daysLeft'];
  daysLeft: string | undefined;
  readonly circuits: PublishedCircuit[];
}

const copyCircuit = (c: CircuitLiveState): PublishedCircuit => ({ kind: c.kind, supply: c.supply, powerW: c.powerW, pf: c.pf, cutReason: c.cutReason });
const daysLeftText = (state: DormitoryLiveState): string | undefined => (state.daysLeft === undefined ? undefined : JSON.stringify(state.daysLeft));

function copyOf(state: DormitoryLiveState): Published {
  return {
    building: state.building,
    floor: state.floor,
    room: state.room,
    state: state.state,
    electricity: state.balance.electricity,
    water: state.balance.water,
    powerW: state.powerW,
    online: state.online,
    activeAlarms: state.activeAlarms,
    lastReadingAt: state.lastReadingAt,
    daysLeftObject: state.daysLeft,
    daysLeft: daysLeftText(state),
    circuits: state.circuits.map(copyCircuit),
  };
}

/** The changed fields of one circuit (undefined: none), and the copy brought up to date. */
function circuitChange(before: PublishedCircuit, now: CircuitLiveState): Partial<CircuitLiveState> | undefined {
  let change: { -readonly [K in keyof CircuitLiveState]?: CircuitLiveState[K] } | undefined;
  if (before.supply !== now.supply) (change ??= {}).supply = before.supply = now.supply;
  if (before.powerW !== now.powerW) (change ??= {}).powerW = before.powerW = now.powerW;
  if (before.pf !== now.pf) (change ??= {}).pf = before.pf = now.pf;
  if (before.cutReason !== now.cutReason) (change ??= {}).cutReason = before.cutReason = now.cutReason;
  return change;
}

const sameShape = (before: readonly PublishedCircuit[], now: readonly CircuitLiveState[]): boolean =>
  before.length === now.length && before.every((c, i) => c.kind === now[i]!.kind);

/**
 * What each dormitory was last published as, and the delta of a new state against it. One per
 * feed, fed every state of every flush in order (while anyone reads deltas): a client that had
 * every previous flush, in full or as deltas, ends at the same state as one sent it whole.
 */
export class PublishedStates {
  private readonly published = new Map<string, Published>();

  /** The delta of `state` against its last published state (undefined: nothing a client shows changed), which it becomes. */
  publish(state: DormitoryLiveState): DormitoryDelta | undefined {
    const before = this.published.get(state.id);
    if (!before) {
      this.published.set(state.id, copyOf(state));
      return wholeDelta(state);
    }
    let delta: DormitoryDelta | undefined;
    const changed = (): DormitoryDelta => (delta ??= { id: state.id });
    if (before.state !== state.state) changed().state = before.state = state.state;
    if (before.electricity !== state.balance.electricity || before.water !== state.balance.water) {
      before.electricity = state.balance.electricity;
      before.water = state.balance.water;
      changed().balance = { electricity: state.balance.electricity, water: state.balance.water };
    }
    if (before.powerW !== state.powerW) changed().powerW = before.powerW = state.powerW;
    if (before.online !== state.online) changed().online = before.online = state.online;
    if (before.activeAlarms !== state.activeAlarms) changed().activeAlarms = before.activeAlarms = state.activeAlarms;
    if (before.lastReadingAt !== state.lastReadingAt) changed().lastReadingAt = before.lastReadingAt = state.lastReadingAt;
    if (before.building !== state.building) changed().building = before.building = state.building;
    if (before.floor !== state.floor) changed().floor = before.floor = state.floor;
    if (before.room !== state.room) changed().room = before.room = state.room;
    if (before.daysLeftObject !== state.daysLeft) {
      // A new estimate object (hourly at most): compared by its text, since an equal estimate is no change.
      before.daysLeftObject = state.daysLeft;
      const daysLeft = daysLeftText(state);
      if (before.daysLeft !== daysLeft) {
        before.daysLeft = daysLeft;
        changed().daysLeft = state.daysLeft;
      }
    }
    if (!sameShape(before.circuits, state.circuits)) {
      before.circuits.length = 0;
      before.circuits.push(...state.circuits.map(copyCircuit));
      changed().circuits = state.circuits.map((c) => ({ ...c }));
    } else {
      for (let i = 0; i < state.circuits.length; i++) {
        const change = circuitChange(before.circuits[i]!, state.circuits[i]!);
        if (change) (changed().circuitChanges ??= []).push([i, change]);
      }
    }
    return delta;
  }

  /** Takes these states as published without producing deltas (the feed's states when the first delta reader arrives). */
  seed(states: Iterable<DormitoryLiveState>): void {
    this.published.clear();
    for (const state of states) this.published.set(state.id, copyOf(state));
  }

  forget(id: string): void {
    this.published.delete(id);
  }

  get size(): number {
    return this.published.size;
  }
}

/** A dormitory seen for the first time: every field (a delta that is the whole state), copied. */
function wholeDelta(state: DormitoryLiveState): DormitoryDelta {
  return { ...state, balance: { ...state.balance }, circuits: state.circuits.map((c) => ({ ...c })) };
}

/** Applies a delta to a full state (a client's copy): a new object, the old one untouched. */
export function applyDelta(state: DormitoryLiveState, delta: DormitoryDelta): DormitoryLiveState {
  const { circuitChanges, circuits, id: _id, ...fields } = delta;
  let nextCircuits = circuits ?? state.circuits;
  if (circuitChanges) {
    const changed = nextCircuits.map((c) => ({ ...c }));
    for (const [index, change] of circuitChanges) if (changed[index]) changed[index] = { ...changed[index], ...change };
    nextCircuits = changed;
  }
  return { ...state, ...fields, circuits: nextCircuits };
}
