/**
 * A simulated electricity meter in front of one room's load: the 1-in-3-out campus meter
 * (three switched circuits, an incoming line billed as their sum) or a single-line meter
 * (SDM120 read-only, Acrel DDSY1352 with one relay).
 *
 * Integration is lazy: registers are brought up to the clock on every read, relay change,
 * plug or unplug (and on `tick`, for callers that want to bound the work of a read), by
 * walking the one-minute load slots since the last time. Loads are constant within a
 * slot and integers in mW, so the registers are exact and do not depend on how often the
 * meter is read.
 */
import type { Clock } from '../clock.ts';
import type { CircuitKind, CircuitSample, ElectricReading, MeterFlags, SupplyTarget } from '../domain/reading.ts';
import type { MeterProfileName } from '../drivers/gateway-driver.ts';
import type { SimulatedMeterView } from './simulated-gateway.ts';
import { IntegratingRegister } from './integrating-register.ts';
import { noise01 } from './prng.ts';
import { circuitIndex, type RoomLoad } from './room-load.ts';
import { SLOT_MS, localSlot } from './usage-rhythm.ts';

export type ElectricProfileName = Exclude<MeterProfileName, 'water-valve'>;

/** Bits of the alarm word the simulated meters report. */
export const ALARM_BITS = {
  coverOpen: 0x0001,
  reverseConnection: 0x0002,
} as const;

/** mW x ms in one Wh. */
const MW_MS_PER_WH = 3_600_000_000;
const CAMPUS_CIRCUITS: readonly CircuitKind[] = ['lighting', 'socket', 'ac'];

export interface SimulatedElectricMeterOptions {
  readonly unitAddress: string;
  readonly profile: ElectricProfileName;
  readonly clock: Clock;
  readonly load: RoomLoad;
  /** Noise key of this meter's supply voltage. */
  readonly seed: number;
  /** Campus time zone, minutes east of UTC (the evening voltage sag follows local time). */
  readonly utcOffsetMinutes: number;
  /**
   * Registers at start, Wh: per circuit for the campus meter (the incoming line is their
   * sum), `main` for single-line meters. Missing registers start at 0.
   */
  readonly initialEnergyWh?: Readonly<Partial<Record<CircuitKind | 'main', number>>>;
}

export class SimulatedElectricMeter implements SimulatedMeterView {
  readonly unitAddress: string;
  readonly profile: ElectricProfileName;
  readonly load: RoomLoad;
  /** What `setSupply` accepts on this profile. */
  readonly supplyTargets: readonly SupplyTarget[];
  private readonly clock: Clock;
  private readonly seed: number;
  private readonly utcOffsetMinutes: number;
  /** Campus meter: one per circuit in CIRCUIT order; single-line meter: one. */
  private readonly registers: IntegratingRegister[];
  private readonly relays: boolean[];
  private integratedToMs: number;
  private coverOpen = false;
  private reverseConnection = false;
  private readonly unsubscribeLoad: () => void;

  constructor(options: SimulatedElectricMeterOptions) {
    this.unitAddress = options.unitAddress;
    this.profile = options.profile;
    this.load = options.load;
    this.clock = options.clock;
    this.seed = options.seed;
    this.utcOffsetMinutes = options.utcOffsetMinutes;
    const initial = options.initialEnergyWh ?? {};
    if (this.profile === 'campus-1in3out') {
      if (initial.main !== undefined) throw new RangeError('a campus meter starts per circuit, not from `main`');
      this.registers = CAMPUS_CIRCUITS.map((c) => new IntegratingRegister(MW_MS_PER_WH, initial[c] ?? 0));
      this.relays = [true, true, true];
      this.supplyTargets = CAMPUS_CIRCUITS;
    } else {
      if (CAMPUS_CIRCUITS.some((c) => initial[c] !== undefined)) {
        throw new RangeError(`a ${this.profile} meter has one register: start it from \`main\``);
      }
      this.registers = [new IntegratingRegister(MW_MS_PER_WH, initial.main ?? 0)];
      this.relays = [true];
      this.supplyTargets = this.profile === 'acrel-ddsy1352' ? ['main'] : [];
    }
    this.integratedToMs = Math.floor(this.clock.now());
    this.unsubscribeLoad = this.load.onBeforeChange(() => this.settle());
  }

  /** Integrates the registers up to the clock's now; returns that time (integer ms). */
  settle(): number {
    const end = Math.floor(this.clock.now());
    let t = this.integratedToMs;
    while (t < end) {
      const slotIndex = Math.floor(t / SLOT_MS);
      const segmentEnd = Math.min((slotIndex + 1) * SLOT_MS, end);
      const powerMw = this.load.slotPowerMwOf(slotIndex);
      const durationMs = segmentEnd - t;
      if (this.registers.length === 3) {
        for (let c = 0; c < 3; c++) if (this.relays[c]) this.registers[c]!.add(powerMw[c]!, durationMs);
      } else if (this.relays[0]) {
        this.registers[0]!.add(powerMw[0]! + powerMw[1]! + powerMw[2]!, durationMs);
      }
      t = segmentEnd;
    }
    if (end > this.integratedToMs) this.integratedToMs = end;
    return this.integratedToMs;
  }

  /** Periodic integration, for callers that want reads to stay cheap after long gaps. */
  tick(): void {
    this.settle();
  }

  read(): ElectricReading {
    const at = this.settle();
    const voltageV = this.supplyVoltageV(at);
    const sample = this.load.sample(at);
    const sign = this.reverseConnection ? -1 : 1;
    const flags: MeterFlags = { coverOpen: this.coverOpen, reverseConnection: this.reverseConnection };
    const alarmWord =
      (this.coverOpen ? ALARM_BITS.coverOpen : 0) | (this.reverseConnection ? ALARM_BITS.reverseConnection : 0);

    if (this.registers.length === 3) {
      let totalW = 0;
      let totalVar = 0;
      let energyWh = 0;
      const circuits: CircuitSample[] = CAMPUS_CIRCUITS.map((kind, c) => {
        const closed = this.relays[c]!;
        const powerW = closed ? sample.powerMw[c]! / 1000 : 0;
        const reactiveVar = closed ? sample.reactiveVar[c]! : 0;
        totalW += powerW;
        totalVar += reactiveVar;
        energyWh += this.registers[c]!.value;
        return { kind, ...electrical(powerW, reactiveVar, voltageV, sign), energyWh: this.registers[c]!.value, relayClosed: closed };
      });
      return {
        type: 'electric',
        unitAddress: this.unitAddress,
        at,
        energyWh,
        ...electrical(totalW, totalVar, voltageV, sign),
        circuits,
        flags,
        alarmWord,
      };
    }

    const closed = this.relays[0]!;
    const powerW = closed ? (sample.powerMw[0]! + sample.powerMw[1]! + sample.powerMw[2]!) / 1000 : 0;
    const reactiveVar = closed ? sample.reactiveVar[0]! + sample.reactiveVar[1]! + sample.reactiveVar[2]! : 0;
    const reading: ElectricReading = {
      type: 'electric',
      unitAddress: this.unitAddress,
      at,
      energyWh: this.registers[0]!.value,
      ...electrical(powerW, reactiveVar, voltageV, sign),
      circuits: [],
      flags,
      alarmWord,
    };
    return this.profile === 'acrel-ddsy1352' ? { ...reading, relayClosed: closed } : reading;
  }

  /** Closes (`true`) or opens a relay. Throws RangeError for a target this profile lacks. */
  setSupply(target: SupplyTarget, closed: boolean): void {
    if (!this.supplyTargets.includes(target)) {
      throw new RangeError(`meter ${this.unitAddress} (${this.profile}) has no relay for '${target}'`);
    }
    this.settle();
    this.relays[target === 'main' ? 0 : circuitIndex(target as CircuitKind)] = closed;
  }

  /** Latches the cover-open flag (`cover_opened` event), or clears it. */
  setCoverOpen(open: boolean): void {
    this.coverOpen = open;
  }

  /**
   * Sets the reverse-connection flag (`reverse_connection` event), or clears it. Power and
   * power factor then read negative; the registers keep counting, as anti-theft prepaid
   * meters count reverse energy into the billed total.
   */
  setReverseConnection(reversed: boolean): void {
    this.reverseConnection = reversed;
  }

  get flags(): MeterFlags {
    return { coverOpen: this.coverOpen, reverseConnection: this.reverseConnection };
  }

  /** Stops following the load (when the meter is removed from the campus). */
  dispose(): void {
    this.unsubscribeLoad();
  }

  /**
   * Supply voltage, 222.5..227.5 V: sags in the evening peak, flickers second to second.
   * Loads are modelled as constant power, so it moves current, not power.
   */
  private supplyVoltageV(at: number): number {
    const minute = localSlot(at, this.utcOffsetMinutes).minuteOfDay;
    const sag = minute >= 19 * 60 && minute < 23 * 60 ? 1 : minute >= 18 * 60 ? 0.5 : 0;
    const flicker = noise01(this.seed, Math.floor(at / 1000), 0x76) - 0.5;
    return round(226.5 - 3 * sag + 2 * flicker, 1);
  }
}

function electrical(
  powerW: number,
  reactiveVar: number,
  voltageV: number,
  sign: number,
): { voltageV: number; currentA: number; powerW: number; powerFactor: number } {
  const apparentVa = Math.hypot(powerW, reactiveVar);
  return {
    voltageV,
    currentA: round(apparentVa / voltageV, 3),
    powerW: round(sign * powerW, 1),
    powerFactor: round(sign * (apparentVa > 0 ? powerW / apparentVa : 1), 3),
  };
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor + 0;
}
