import type { CircuitKind, SupplyAction, SupplyTarget } from '../domain/reading.ts';
import type { CutReason } from '../domain/supply.ts';
import type { Purse } from '../db/database.ts';
import type { Measured } from '../domain/register-billing.ts';
import type { RegisterResolved } from '../domain/register-hold.ts';
import type { Ref } from './nact.ts';

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

/** A meter's reading as its dormitory needs it: what to price, power, time. */
export interface MeterReported {
  readonly type: 'MeterReported';
  readonly meterId: string;
  readonly purse: Purse;
  /** What the reading measured, for the dormitory to price (null when idle or held). */
  readonly measured: Measured | null;
  readonly powerW: number;
  /** The reading's own circuit samples (not copied: the dormitory reads kind, power and power factor). */
  readonly circuits: readonly { readonly kind: CircuitKind; readonly powerW: number; readonly powerFactor: number }[];
  readonly at: number;
  readonly decodedAtNs: bigint;
}

/**
 * An operator resolved a meter's register (accept, void, replace): what to price (usage 0 for a
 * void) and the meter's new position. The dormitory prices it, posts it at once with the audit
 * record and the alarm's release, and answers `replyTo`.
 */
export interface MeterResolved {
  readonly type: 'MeterResolved';
  readonly meterId: string;
  readonly purse: Purse;
  readonly measured: Measured;
  readonly operator: string;
  /** The audit record's action and details (the amount is added by the dormitory). */
  readonly action: string;
  readonly details: Record<string, unknown>;
  /** The hold this resolution lifts (its alarm is released by the operator), null for none. */
  readonly held: string | null;
  readonly replyTo: Ref<RegisterResolved>;
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
