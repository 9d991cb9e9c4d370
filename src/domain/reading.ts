/**
 * What a driver hands the actors once a frame is decoded: protocol-neutral, SI units,
 * integer energy (Wh) and volume (L) registers. Billing is computed only from the
 * cumulative registers, never from power.
 */
export type CircuitKind = 'lighting' | 'socket' | 'ac';
export const CIRCUIT_KINDS: readonly CircuitKind[] = ['lighting', 'socket', 'ac'];

export interface CircuitSample {
  readonly kind: CircuitKind;
  readonly voltageV: number;
  readonly currentA: number;
  readonly powerW: number;
  /** Signed active power / apparent power, -1..1. */
  readonly powerFactor: number;
  /** Cumulative energy register of this circuit, Wh. */
  readonly energyWh: number;
  /** Relay state as read back from the meter. */
  readonly relayClosed: boolean;
}

export interface MeterFlags {
  readonly coverOpen: boolean;
  readonly reverseConnection: boolean;
}

export interface ElectricReading {
  readonly type: 'electric';
  /** Gateway-local address of the meter (Modbus unit id, MQTT device name). */
  readonly unitAddress: string;
  /** Time the reading was taken, epoch ms on the injected clock. */
  readonly at: number;
  /** Cumulative energy register of the billed incoming line, Wh. */
  readonly energyWh: number;
  readonly voltageV: number;
  readonly currentA: number;
  readonly powerW: number;
  readonly powerFactor: number;
  /** Per-circuit samples (1-in-3-out campus meter); empty for single-relay meters. */
  readonly circuits: readonly CircuitSample[];
  /** Main relay read back (single-relay meters); undefined for the campus meter. */
  readonly relayClosed?: boolean;
  readonly flags: MeterFlags;
  /** Raw alarm word as the meter reports it (0 = none). */
  readonly alarmWord: number;
}

export interface WaterReading {
  readonly type: 'water';
  readonly unitAddress: string;
  readonly at: number;
  /** Cumulative volume register, litres. */
  readonly volumeL: number;
  readonly valveOpen: boolean;
}

export type MeterReading = ElectricReading | WaterReading;

/** What a supply command switches: one circuit, the main relay, or a water valve. */
export type SupplyTarget = CircuitKind | 'main' | 'valve';
export type SupplyAction = 'cut' | 'restore';
