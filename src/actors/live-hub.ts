import type { DormitoryLiveState, LiveFeed } from '../live/live-feed.ts';

/**
 * The state behind the `live` actor: the latest state of every dormitory, plus the ids that
 * changed since the last flush. Flushes (real time, `flushMs`) hand each listener one array
 * of changed states: however many readings arrived, a listener sees each dormitory at most
 * once per flush, at its latest state.
 */
export class LiveHub implements LiveFeed {
  private readonly states = new Map<string, DormitoryLiveState>();
  private readonly dirty = new Set<string>();
  private readonly listeners = new Set<(changed: readonly DormitoryLiveState[]) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly flushMs = 250) {}

  update(state: DormitoryLiveState): void {
    this.states.set(state.id, state);
    this.dirty.add(state.id);
    if (!this.timer && this.listeners.size > 0) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  remove(id: string): void {
    this.states.delete(id);
    this.dirty.delete(id);
  }

  get(id: string): DormitoryLiveState | undefined {
    return this.states.get(id);
  }

  snapshot(building?: string): readonly DormitoryLiveState[] {
    const all = [...this.states.values()];
    return building ? all.filter((d) => d.building === building) : all;
  }

  subscribe(listener: (changed: readonly DormitoryLiveState[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty.size === 0) return;
    const changed: DormitoryLiveState[] = [];
    for (const id of this.dirty) {
      const state = this.states.get(id);
      if (state) changed.push(state);
    }
    this.dirty.clear();
    for (const listener of this.listeners) listener(changed);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }
}
