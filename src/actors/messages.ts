import type { CircuitKind, SupplyAction, SupplyTarget } from '../domain/reading.ts';
import type { CutReason } from '../domain/supply.ts';
import type { Purse } from '../db/database.ts';

/**
 * Messages that cross actor kinds (the protocol between circuit, meter, dormitory and
 * gateway). Each actor file keeps its own internal messages to itself.
 */

/** A circuit's visible state, reported to its dormitory when it changes. */
export interface CircuitReported {
  readonly type: 'CircuitReported';
  readonly meterId: string;
  readonly target: SupplyTarget;
  readonly supply: 'on' | 'off' | 'unknown';
  readonly cutReasons: readonly CutReason[];
  readonly commandInFlight: SupplyAction | null;
}

/** A meter's reading as its dormitory needs it: money, power, time. */
export interface MeterReported {
  readonly type: 'MeterReported';
  readonly meterId: string;
  readonly purse: Purse;
  /** Minor units charged by this reading (0 when free or idle). */
  readonly amount: number;
  readonly usage: number;
  readonly powerW: number;
  readonly circuits: readonly { readonly kind: CircuitKind; readonly powerW: number; readonly pf: number }[];
  readonly at: number;
  readonly decodedAtNs: bigint;
}

/** A charge made outside a reading (an operator accepted a jump or replaced the meter). */
export interface MeterCharged {
  readonly type: 'MeterCharged';
  readonly meterId: string;
  readonly purse: Purse;
  /** Minor units charged. */
  readonly amount: number;
}

export interface MeterOnlineChanged {
  readonly type: 'MeterOnlineChanged';
  readonly meterId: string;
  readonly online: boolean;
  readonly at: number;
}

/** A cut reason imposed on (or lifted from) circuits by their dormitory or an operator. */
export interface ImposeCut {
  readonly type: 'ImposeCut';
  readonly target: SupplyTarget | 'all';
  readonly reason: CutReason;
  readonly active: boolean;
  readonly requestedBy: string;
  /** For reading-caused cuts: when the frame that caused it was decoded (latency metric). */
  readonly causedAtNs?: bigint | undefined;
}

export interface AlarmRaisedNotice {
  readonly type: 'AlarmNotice';
  readonly delta: 1 | -1;
}
