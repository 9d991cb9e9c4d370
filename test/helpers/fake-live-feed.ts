import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';
import { listDormitories } from '../../src/db/dormitory.repository.ts';
import type { DormitoryLiveState, DormitoryState, LiveFeed } from '../../src/live/live-feed.ts';

/**
 * A LiveFeed the test drives by hand: a stand-in for the `live` actor, so the WebSocket plugin
 * and the pages can be tested before (and apart from) the actor tree.
 */
export class FakeLiveFeed implements LiveFeed {
  private readonly states = new Map<string, DormitoryLiveState>();
  private readonly listeners = new Set<(changed: readonly DormitoryLiveState[]) => void>();

  constructor(initial: readonly DormitoryLiveState[]) {
    for (const state of initial) this.states.set(state.id, state);
  }

  snapshot(building?: string): readonly DormitoryLiveState[] {
    const all = [...this.states.values()];
    return building === undefined ? all : all.filter((d) => d.building === building);
  }

  subscribe(listener: (changed: readonly DormitoryLiveState[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  get(id: string): DormitoryLiveState {
    const state = this.states.get(id);
    if (!state) throw new Error(`no dormitory ${id} in the fake feed`);
    return state;
  }

  /** Applies the changes and hands them to the listeners as one coalesced diff. */
  push(changes: readonly DormitoryLiveState[]): void {
    for (const state of changes) this.states.set(state.id, state);
    for (const listener of this.listeners) listener(changes);
  }

  /** Changes one dormitory and pushes it. */
  update(id: string, patch: Partial<DormitoryLiveState>): DormitoryLiveState {
    const next = { ...this.get(id), ...patch };
    this.push([next]);
    return next;
  }
}

/** A cut of every circuit, as the dormitory actor would report it. */
export function cutAll(state: DormitoryLiveState, to: DormitoryState, reason: string): Partial<DormitoryLiveState> {
  return { state: to, powerW: 0, circuits: state.circuits.map((c) => ({ ...c, supply: 'off' as const, powerW: 0, cutReason: reason })) };
}

/** Live states for every dormitory in the database: normal, online, some load on each circuit. */
export async function liveStatesFromDatabase(db: Kysely<Database>, at: number): Promise<DormitoryLiveState[]> {
  const { items } = await listDormitories(db, { page: 1, pageSize: 500 });
  return items.map((d, i) => {
    const lighting = 20 + (i % 4) * 15;
    const socket = 40 + (i % 7) * 30;
    const ac = i % 3 === 0 ? 750 : 0;
    return {
      id: d.id,
      building: d.building,
      floor: d.floor,
      room: d.room,
      state: 'normal',
      balance: d.balance,
      powerW: lighting + socket + ac,
      online: true,
      circuits: [
        { kind: 'lighting', supply: 'on', powerW: lighting, pf: 0.95, cutReason: null },
        { kind: 'socket', supply: 'on', powerW: socket, pf: 0.9, cutReason: null },
        { kind: 'ac', supply: 'on', powerW: ac, pf: 0.85, cutReason: null },
      ],
      activeAlarms: 0,
      lastReadingAt: at,
    };
  });
}
