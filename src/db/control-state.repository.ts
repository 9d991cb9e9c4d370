import {
  DORMITORY_CONTROL_KEY,
  EMPTY_CONTROL_SNAPSHOT,
  parseCircuitControlState,
  parseDormitoryControlState,
  parseMeterControlState,
  type CircuitControlState,
  type ControlSnapshot,
  type DormitoryControlState,
  type MeterControlState,
} from '../domain/control-state.ts';
import { chunks } from './chunks.ts';
import type { Executor } from './executor.ts';
import { manualCutsOf } from './manual-cut.repository.ts';

/** One actor's control state as the ledger's group commit writes it (last one per key wins). */
export interface ControlStateRecord {
  readonly dormitoryId: string;
  /** `dormitory`, `meter:<meterId>` or `circuit:<meterId>:<target>` (src/domain/control-state.ts). */
  readonly actorKey: string;
  readonly state: DormitoryControlState | MeterControlState | CircuitControlState;
  /**
   * The sender's place in the process-wide order of control states (src/actors/control-sequence.ts).
   * A record older than one already written ahead for its key is dropped, so a state still in the
   * ledger's mailbox never overwrites a newer one a circuit committed before a cut.
   */
  readonly seq?: number;
}

export async function upsertControlStates(trx: Executor, records: readonly ControlStateRecord[]): Promise<void> {
  for (const slice of chunks(records)) {
    await trx
      .insertInto('control_states')
      .values(slice.map((r) => ({ dormitory_id: r.dormitoryId, actor_key: r.actorKey, state: JSON.stringify(r.state), updated_at: new Date() })))
      .onConflict((oc) => oc.columns(['dormitory_id', 'actor_key']).doUpdateSet((eb) => ({ state: eb.ref('excluded.state'), updated_at: eb.ref('excluded.updated_at') })))
      .execute();
  }
}

/**
 * The control snapshot of each dormitory (every dormitory asked for has one, empty when nothing
 * was stored). Malformed rows are skipped: that actor's rules start fresh.
 */
export async function loadControlSnapshots(db: Executor, dormitoryIds: readonly string[]): Promise<Map<string, ControlSnapshot>> {
  const result = new Map<string, ControlSnapshot>();
  if (dormitoryIds.length === 0) return result;
  const building = new Map<string, { dormitory: DormitoryControlState | null; meters: Map<string, MeterControlState>; circuits: Map<string, CircuitControlState>; manualCuts: Set<string> }>();
  const of = (id: string) => {
    let s = building.get(id);
    if (!s) {
      s = { dormitory: null, meters: new Map(), circuits: new Map(), manualCuts: new Set() };
      building.set(id, s);
    }
    return s;
  };
  for (const slice of chunks([...dormitoryIds])) {
    const rows = await db.selectFrom('control_states').select(['dormitory_id', 'actor_key', 'state']).where('dormitory_id', 'in', slice).execute();
    for (const row of rows) {
      const s = of(row.dormitory_id);
      if (row.actor_key === DORMITORY_CONTROL_KEY) s.dormitory = parseDormitoryControlState(row.state);
      else if (row.actor_key.startsWith('meter:')) {
        const parsed = parseMeterControlState(row.state);
        if (parsed) s.meters.set(row.actor_key.slice('meter:'.length), parsed);
      } else if (row.actor_key.startsWith('circuit:')) {
        const parsed = parseCircuitControlState(row.state);
        if (parsed) s.circuits.set(row.actor_key.slice('circuit:'.length), parsed);
      }
    }
    for (const cut of await manualCutsOf(db, slice)) of(cut.dormitoryId).manualCuts.add(`${cut.meterId}:${cut.target}`);
  }
  for (const id of dormitoryIds) result.set(id, building.get(id) ?? EMPTY_CONTROL_SNAPSHOT);
  return result;
}
