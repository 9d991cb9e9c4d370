/**
 * A simulated prepaid water meter with a valve ('water-valve'): a cumulative volume
 * register in litres, water flowing only while the valve is open.
 *
 * Use comes in bursts (a shower, a sink) with a day rhythm: busy mornings and late
 * evenings, almost nothing at night, about 200 L a day per room. Like the electricity
 * meters it integrates lazily over one-minute slots, exactly (flow in integer mL/min).
 */
import type { Clock } from '../clock.ts';
import type { SupplyTarget, WaterReading } from '../domain/reading.ts';
import type { SimulatedMeterView } from './simulated-gateway.ts';
import { IntegratingRegister } from './integrating-register.ts';
import { noise01 } from './prng.ts';
import { SLOT_MS, localSlot } from './usage-rhythm.ts';

/** mL/min x ms in one litre. */
const ML_PER_MIN_MS_PER_L = 60_000_000;
/** Use is decided per block of this many slots (minutes): a burst starts at its start. */
const BLOCK_SLOTS = 10;
/** Chance, per local hour, that a 10-minute block contains a burst of use. */
const BURST_CHANCE_BY_HOUR: readonly number[] = [
  0.005, 0.005, 0.005, 0.005, 0.005, 0.005, // 00-05
  0.04, 0.15, 0.08, 0.02, 0.02, 0.02, // 06-11
  0.05, 0.05, 0.02, 0.02, 0.02, 0.02, // 12-17
  0.04, 0.05, 0.05, 0.1, 0.1, 0.05, // 18-23
];

/**
 * Flow the room's taps draw during slot `slotIndex` (valve not applied), integer mL/min:
 * bursts of 2..9 minutes at 5..8 L/min.
 */
export function waterDemandMlPerMin(noiseKey: number, slotIndex: number, utcOffsetMinutes: number): number {
  const block = Math.floor(slotIndex / BLOCK_SLOTS);
  const hour = Math.floor(localSlot(block * BLOCK_SLOTS * SLOT_MS, utcOffsetMinutes).minuteOfDay / 60);
  if (noise01(noiseKey, block, 1) >= BURST_CHANCE_BY_HOUR[hour]!) return 0;
  const minutes = 2 + Math.floor(noise01(noiseKey, block, 2) * 8);
  if (slotIndex - block * BLOCK_SLOTS >= minutes) return 0;
  return 5000 + Math.floor(noise01(noiseKey, block, 3) * 3000);
}

export interface SimulatedWaterMeterOptions {
  readonly unitAddress: string;
  readonly clock: Clock;
  /** Noise key of this room's water use. */
  readonly seed: number;
  readonly utcOffsetMinutes: number;
  /** Volume register at start, litres. */
  readonly initialVolumeL?: number;
}

export class SimulatedWaterMeter implements SimulatedMeterView {
  readonly unitAddress: string;
  readonly profile = 'water-valve' as const;
  readonly supplyTargets: readonly SupplyTarget[] = ['valve'];
  private readonly clock: Clock;
  private readonly seed: number;
  private readonly utcOffsetMinutes: number;
  private readonly register: IntegratingRegister;
  private open = true;
  private integratedToMs: number;

  constructor(options: SimulatedWaterMeterOptions) {
    this.unitAddress = options.unitAddress;
    this.clock = options.clock;
    this.seed = options.seed;
    this.utcOffsetMinutes = options.utcOffsetMinutes;
    this.register = new IntegratingRegister(ML_PER_MIN_MS_PER_L, options.initialVolumeL ?? 0);
    this.integratedToMs = Math.floor(this.clock.now());
  }

  /** Integrates the volume register up to the clock's now; returns that time (integer ms). */
  settle(): number {
    const end = Math.floor(this.clock.now());
    if (end <= this.integratedToMs) return this.integratedToMs;
    if (this.open) {
      let t = this.integratedToMs;
      while (t < end) {
        const slotIndex = Math.floor(t / SLOT_MS);
        const segmentEnd = Math.min((slotIndex + 1) * SLOT_MS, end);
        this.register.add(waterDemandMlPerMin(this.seed, slotIndex, this.utcOffsetMinutes), segmentEnd - t);
        t = segmentEnd;
      }
    }
    this.integratedToMs = end;
    return end;
  }

  tick(): void {
    this.settle();
  }

  read(): WaterReading {
    const at = this.settle();
    return { type: 'water', unitAddress: this.unitAddress, at, volumeL: this.register.value, valveOpen: this.open };
  }

  /** Opens (`true`) or closes the valve. Throws RangeError for any target but 'valve'. */
  setSupply(target: SupplyTarget, closed: boolean): void {
    if (target !== 'valve') throw new RangeError(`meter ${this.unitAddress} (water-valve) has no relay for '${target}'`);
    this.settle();
    this.open = closed;
  }

  get valveOpen(): boolean {
    return this.open;
  }

  /** Flow through the meter now, L/min (0 while the valve is closed). */
  flowLitresPerMinute(): number {
    const at = this.settle();
    if (!this.open) return 0;
    return waterDemandMlPerMin(this.seed, Math.floor(at / SLOT_MS), this.utcOffsetMinutes) / 1000;
  }
}
