/**
 * The load of one room: what is plugged into which circuit, and what it all draws during
 * a one-minute slot. Pure physics, no clock and no relays: the meter asks for the draw of
 * the slot it is integrating and applies its relays itself.
 */
import type { CircuitKind } from '../domain/reading.ts';
import {
  drawModel,
  runningPowerMw,
  type ApplianceKind,
  type ApplianceUsage,
  type DrawModel,
  type PluggedAppliance,
} from './appliance.ts';
import { hash32, type Prng } from './prng.ts';
import {
  CONTINUOUS_AC_DUTY,
  SLOT_MS,
  compressorRunning,
  dutyAt,
  hasRhythm,
  usageOfDay,
} from './usage-rhythm.ts';

export interface RoomLoadOptions {
  /** Seed material for this room: appliance timing and jitter derive from it. */
  readonly seed: number;
  /** Campus time zone, minutes east of UTC (480 = China). */
  readonly utcOffsetMinutes: number;
}

export interface PlugOptions {
  /** Default `continuous`: runs while plugged in. */
  readonly usage?: ApplianceUsage;
}

/** What the room draws during one slot, per circuit, indexed like CIRCUIT_KINDS (see circuitIndex). */
export interface RoomSample {
  readonly slotIndex: number;
  /** Active power per circuit, integer mW. */
  readonly powerMw: readonly number[];
  /** Reactive power per circuit, var. */
  readonly reactiveVar: readonly number[];
}

export function circuitIndex(circuit: CircuitKind): number {
  switch (circuit) {
    case 'lighting':
      return 0;
    case 'socket':
      return 1;
    case 'ac':
      return 2;
  }
}

/** How a plugged appliance decides whether it runs in a slot. */
type RunMode = 'always' | 'rhythm' | 'ac-rhythm' | 'ac-continuous';

/** A plugged appliance with what the slot loop needs precomputed, and its day cached. */
interface ApplianceRuntime {
  readonly appliance: PluggedAppliance;
  readonly circuit: number;
  readonly model: DrawModel;
  readonly mode: RunMode;
  /** Day `usage` was resolved for (NaN: not yet). */
  day: number;
  usage: readonly number[];
}

const MINUTES_PER_DAY = 1440;
const MINUTES_PER_SLOT = SLOT_MS / 60_000;

export class RoomLoad {
  private readonly plugged: PluggedAppliance[] = [];
  private readonly runtimes: ApplianceRuntime[] = [];
  private serial = 0;
  /** Bumped on every change, so a cached sample is never stale. */
  private version = 0;
  /** The last slot computed, in place (no allocation on the integration path). */
  private readonly slotPowerMw = [0, 0, 0];
  private readonly slotReactiveVar = [0, 0, 0];
  private computedSlot = Number.NaN;
  private computedVersion = -1;
  private readonly beforeChangeListeners = new Set<() => void>();

  constructor(private readonly options: RoomLoadOptions) {}

  /** Plugs an appliance into a circuit; returns its id (unique in this room). */
  plug(kind: ApplianceKind, circuit: CircuitKind, options: PlugOptions = {}): string {
    this.notifyBeforeChange();
    this.serial += 1;
    const id = `${kind}-${this.serial}`;
    const noiseKey = hash32(this.options.seed, this.serial, 0x61);
    const appliance: PluggedAppliance = { id, kind, circuit, usage: options.usage ?? 'continuous', noiseKey };
    this.plugged.push(appliance);
    this.runtimes.push({
      appliance,
      circuit: circuitIndex(circuit),
      model: drawModel(kind),
      mode: runMode(appliance),
      day: Number.NaN,
      usage: [],
    });
    this.version += 1;
    return id;
  }

  /** Unplugs one appliance; false when there is no such appliance. */
  unplug(applianceId: string): boolean {
    const index = this.plugged.findIndex((a) => a.id === applianceId);
    if (index < 0) return false;
    this.notifyBeforeChange();
    this.plugged.splice(index, 1);
    this.runtimes.splice(index, 1);
    this.version += 1;
    return true;
  }

  /** Unplugs every appliance of `kind` on `circuit`; returns their ids. */
  unplugAll(kind: ApplianceKind, circuit: CircuitKind): string[] {
    const ids = this.plugged.filter((a) => a.kind === kind && a.circuit === circuit).map((a) => a.id);
    for (const id of ids) this.unplug(id);
    return ids;
  }

  appliances(): readonly PluggedAppliance[] {
    return this.plugged;
  }

  /**
   * Registers a callback run just before the set of appliances changes. The meter uses it
   * to integrate its registers up to now under the old load.
   */
  onBeforeChange(listener: () => void): () => void {
    this.beforeChangeListeners.add(listener);
    return () => this.beforeChangeListeners.delete(listener);
  }

  /** The draw during the slot that contains `timeMs` (relays not applied). */
  sample(timeMs: number): RoomSample {
    const slotIndex = Math.floor(timeMs / SLOT_MS);
    this.compute(slotIndex);
    return { slotIndex, powerMw: [...this.slotPowerMw], reactiveVar: [...this.slotReactiveVar] };
  }

  /**
   * Active power per circuit during slot `slotIndex`, integer mW, indexed like
   * CIRCUIT_KINDS. The array is this room's own and valid only until the next call: the
   * integration loop reads it at once and allocates nothing.
   */
  slotPowerMwOf(slotIndex: number): readonly number[] {
    this.compute(slotIndex);
    return this.slotPowerMw;
  }

  private compute(slotIndex: number): void {
    if (slotIndex === this.computedSlot && this.version === this.computedVersion) return;
    const localMinute = slotIndex * MINUTES_PER_SLOT + this.options.utcOffsetMinutes;
    const day = Math.floor(localMinute / MINUTES_PER_DAY);
    const minute = localMinute - day * MINUTES_PER_DAY;
    const powerMw = this.slotPowerMw;
    const reactiveVar = this.slotReactiveVar;
    powerMw[0] = powerMw[1] = powerMw[2] = 0;
    reactiveVar[0] = reactiveVar[1] = reactiveVar[2] = 0;
    for (const runtime of this.runtimes) {
      const { appliance, model, circuit } = runtime;
      let running: boolean;
      if (runtime.mode === 'always') running = true;
      else if (runtime.mode === 'ac-continuous') running = compressorRunning(CONTINUOUS_AC_DUTY, appliance.noiseKey, slotIndex);
      else {
        if (runtime.day !== day) {
          runtime.usage = usageOfDay(appliance.kind, appliance.noiseKey, day);
          runtime.day = day;
        }
        const duty = runtime.usage.length === 0 ? 0 : dutyAt(runtime.usage, minute);
        running = runtime.mode === 'ac-rhythm' ? compressorRunning(duty, appliance.noiseKey, slotIndex) : duty > 0;
      }
      if (running) {
        const mw = runningPowerMw(model, appliance.noiseKey, slotIndex);
        powerMw[circuit]! += mw;
        reactiveVar[circuit]! += mw * model.runningVarPerMw;
      } else {
        powerMw[circuit]! += model.standbyPowerMw;
        reactiveVar[circuit]! += model.standbyReactiveVar;
      }
    }
    this.computedSlot = slotIndex;
    this.computedVersion = this.version;
  }

  private notifyBeforeChange(): void {
    for (const listener of this.beforeChangeListeners) listener();
  }
}

function runMode(appliance: PluggedAppliance): RunMode {
  if (appliance.kind === 'air_conditioner') return appliance.usage === 'continuous' ? 'ac-continuous' : 'ac-rhythm';
  return appliance.usage === 'continuous' || !hasRhythm(appliance.kind) ? 'always' : 'rhythm';
}

/**
 * Furnishes a lived-in dormitory room: two to four occupants, each with a desk lamp and a
 * phone charger, most with a laptop, and one air conditioner, all following the rhythm.
 */
export function furnishRoom(load: RoomLoad, prng: Prng): void {
  const occupants = prng.nextInt(2, 4);
  const laptops = occupants - prng.nextInt(0, 1);
  for (let i = 0; i < occupants; i++) load.plug('lamp', 'lighting', { usage: 'rhythm' });
  for (let i = 0; i < occupants; i++) load.plug('phone_charger', 'socket', { usage: 'rhythm' });
  for (let i = 0; i < laptops; i++) load.plug('laptop', 'socket', { usage: 'rhythm' });
  load.plug('air_conditioner', 'ac', { usage: 'rhythm' });
}
