import type { DaysLeft } from '../domain/days-left.ts';
import type { CircuitKind } from '../domain/reading.ts';

/**
 * What the control room and wall displays see: the live state of every dormitory, as a
 * snapshot and then coalesced diffs. Produced by the `live` actor; consumed by the WebSocket
 * plugin. Listeners are called synchronously and must not block.
 */
export type DormitoryState =
  | 'normal'
  /** The electricity purse is below a warning level; `_water`: the water purse is. */
  | 'low_balance'
  | 'low_balance_water'
  | 'overdraft'
  | 'overdraft_water'
  | 'cut_arrears'
  | 'cut_water_arrears'
  | 'cut_safety'
  | 'cut_manual'
  | 'holiday_off'
  | 'offline';

export const DORMITORY_STATES: readonly DormitoryState[] = [
  'normal',
  'low_balance',
  'low_balance_water',
  'overdraft',
  'overdraft_water',
  'cut_arrears',
  'cut_water_arrears',
  'cut_safety',
  'cut_manual',
  'holiday_off',
  'offline',
];

export interface CircuitLiveState {
  readonly kind: CircuitKind;
  readonly supply: 'on' | 'off';
  readonly powerW: number;
  readonly pf: number;
  readonly cutReason: string | null;
}

export interface DormitoryLiveState {
  readonly id: string;
  readonly building: string;
  readonly floor: number;
  readonly room: string;
  readonly state: DormitoryState;
  readonly balance: { readonly electricity: number; readonly water: number };
  readonly powerW: number;
  readonly online: boolean;
  readonly circuits: readonly CircuitLiveState[];
  readonly activeAlarms: number;
  /** Epoch ms (injected clock) of the last reading. */
  readonly lastReadingAt: number | null;
  /**
   * Days of credit left per purse at the pace of the last 7 days (docs/notifications.md), as of
   * the last estimate (at start, then hourly); absent until the first one.
   */
  readonly daysLeft?: { readonly electricity: DaysLeft; readonly water: DaysLeft };
}

/**
 * A state handed out by the feed is the dormitory's own view, refreshed in place as readings
 * arrive (one object per dormitory, not one per reading): serialise it, or copy what you keep.
 */
export interface LiveFeed {
  /** Current state of every dormitory, or of one building. */
  snapshot(building?: string): readonly DormitoryLiveState[];
  /**
   * Coalesced changes: each call carries the latest state of the dormitories that changed since
   * the previous call (at most one call per flush interval). Returns an unsubscribe function.
   */
  subscribe(listener: (changed: readonly DormitoryLiveState[]) => void): () => void;
}
