import type { MeterProfileName } from '../gateway-driver.ts';
import type { MeterReading, SupplyAction, SupplyTarget } from '../../domain/reading.ts';

/**
 * A meter's Modbus register map as data. The driver reads `poll`, hands the words to
 * `decode`; the simulator server answers with `encode`; supply commands become the writes
 * `supplyWrite` describes and are confirmed by reading `readBack` until it equals `expect`.
 */

/** 0x03 read holding registers, 0x04 read input registers. */
export type ReadFunctionCode = 0x03 | 0x04;

export interface RegisterBlock {
  readonly functionCode: ReadFunctionCode;
  /** PDU (zero-based) address of the first register. */
  readonly address: number;
  /** Number of 16-bit registers, 1..125 (one Modbus request). */
  readonly length: number;
}

export type RegisterType = 'u16' | 'i16' | 'u32' | 'f32';

/** One named register (or register pair) with its unit. physical = raw / 10^decimals. */
export interface RegisterDef {
  readonly name: string;
  readonly address: number;
  readonly type: RegisterType;
  /** SI or meter unit of the physical value ('V', 'A', 'W', 'Wh', 'kWh', 'L', '-', 'bits'). */
  readonly unit: string;
  /** Decimal places of the raw integer (u16/i16/u32); 0 for f32 and plain counts. */
  readonly decimals: number;
  readonly access: 'r' | 'rw';
  readonly description: string;
}

/** Words as a Modbus reply carries them: unsigned 16-bit, in address order. */
export type RegisterWords = readonly number[];

/** How one supply command is written (function 0x10) and confirmed by read-back. */
export interface SupplyWrite {
  readonly address: number;
  readonly values: readonly number[];
  readonly readBack: RegisterBlock;
  /** The read-back words that confirm the command, compared exactly. */
  readonly expect: readonly number[];
}

/** A relay / valve change a register write asks for (simulator side). */
export interface SupplyChange {
  readonly target: SupplyTarget;
  /** SimulatedMeterView.setSupply's argument. */
  readonly closed: boolean;
}

export const MODBUS_EXCEPTION = {
  illegalFunction: 0x01,
  illegalDataAddress: 0x02,
  illegalDataValue: 0x03,
  deviceFailure: 0x04,
  gatewayPathUnavailable: 0x0a,
  gatewayTargetFailedToRespond: 0x0b,
} as const;
export type ModbusExceptionCode = (typeof MODBUS_EXCEPTION)[keyof typeof MODBUS_EXCEPTION];

export type WriteOutcome =
  | { readonly ok: true; readonly changes: readonly SupplyChange[] }
  | { readonly ok: false; readonly exception: ModbusExceptionCode };

export interface MeterProfile {
  readonly name: MeterProfileName;
  readonly reading: MeterReading['type'];
  /** Every register the profile knows, for docs and tools. */
  readonly registers: readonly RegisterDef[];
  /** Blocks read on every poll, in order; `decode` gets their words concatenated. */
  readonly poll: readonly RegisterBlock[];
  /**
   * Where the billed register wraps back to 0, in the reading's base units (Wh, L): the
   * counter's modulus. null when the counter does not wrap (a float register). Billing treats
   * a register below the cursor as a wrap only when the wrapped delta is plausible.
   */
  readonly registerWrap: number | null;
  /** Throws FrameRejectedError on implausible data. */
  decode(registers: RegisterWords, unitAddress: string, at: number): MeterReading;
  /** The words of `poll`, concatenated (the simulator server answers from this image). */
  encode(reading: MeterReading): number[];
  /** undefined: the meter cannot switch this target. */
  supplyWrite(target: SupplyTarget, action: SupplyAction): SupplyWrite | undefined;
  /** Simulator side: what a write of `values` at `address` does. */
  interpretWrite(address: number, values: RegisterWords): WriteOutcome;
}

/** A reply whose content cannot be a real reading: counted and dropped, never billed. */
export class FrameRejectedError extends Error {
  readonly code = 'FRAME_REJECTED';
  override readonly name = 'FrameRejectedError';

  constructor(
    readonly profile: MeterProfileName,
    readonly reason: string,
  ) {
    super(`${profile}: ${reason}`);
  }
}

export function blockWords(blocks: readonly RegisterBlock[]): number {
  return blocks.reduce((sum, block) => sum + block.length, 0);
}

/** Offset of `address` in the concatenated words of `blocks`, or undefined if not polled. */
export function wordOffset(blocks: readonly RegisterBlock[], address: number, length = 1): number | undefined {
  let offset = 0;
  for (const block of blocks) {
    if (address >= block.address && address + length <= block.address + block.length) {
      return offset + address - block.address;
    }
    offset += block.length;
  }
  return undefined;
}

/** `restore` switches supply on (relay closed, valve open); `cut` switches it off. */
export function supplyOn(action: SupplyAction): boolean {
  return action === 'restore';
}

/** Bounds outside which a value cannot come from a working low-voltage meter. */
export const PLAUSIBLE = {
  voltageV: [0, 1000],
  currentA: [0, 1000],
  powerW: [-1_000_000, 1_000_000],
  powerFactor: [-1, 1],
  frequencyHz: [0, 100],
} as const satisfies Record<string, readonly [number, number]>;
