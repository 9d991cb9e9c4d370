import { CIRCUIT_KINDS, type CircuitKind, type CircuitSample, type ElectricReading, type SupplyTarget } from '../src/domain/reading.ts';

/** One circuit of a synthetic 1-in-3-out meter: a steady load with a little jitter. */
interface SyntheticCircuit {
  readonly kind: CircuitKind;
  readonly powerW: number;
  readonly powerFactor: number;
  /** Energy integrated so far, Wh, fractional; the register is its floor. */
  energyWh: number;
  relayClosed: boolean;
}

/** Where a meter sits: enough to inject its readings and to recognise its commands. */
export interface MeterPlacement {
  readonly meterId: string;
  readonly dormitoryId: string;
  readonly gatewayId: string;
  readonly unitAddress: string;
}

const VOLTAGE_V = 220;
/** A plugged-in air conditioner on standby (current above the AC-standby rule's "unplugged"). */
const AC_STANDBY_W = 5;

/** mulberry32: small, fast and deterministic, so every run replays the same campus. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A campus meter (DDSY1946A-13 type) as the bench needs it: steady, benign loads (lights,
 * laptops, an air conditioner on or on standby; nothing the safety rules would trip), registers
 * that integrate them over the injected time, and relays that obey cut/restore commands.
 * `surge` adds energy at once: a register jump large enough to cross the arrears cut-off.
 */
export class SyntheticMeter {
  private readonly circuits: SyntheticCircuit[];
  private surgeWh = 0;
  private lastAt: number | undefined;

  constructor(
    readonly placement: MeterPlacement,
    seed: number,
    /** Scales every load: probe dormitories use a small one so only their surge crosses the cut-off. */
    loadFactor = 1,
  ) {
    const random = prng(seed);
    const acOn = random() < 0.5;
    const loads: Record<CircuitKind, { powerW: number; powerFactor: number }> = {
      lighting: { powerW: (20 + random() * 100) * loadFactor, powerFactor: 0.95 },
      socket: { powerW: (10 + random() * 390) * loadFactor, powerFactor: 0.9 },
      ac: { powerW: acOn ? (600 + random() * 900) * loadFactor : AC_STANDBY_W, powerFactor: 0.8 },
    };
    // A random starting register, as meters in the field have.
    this.circuits = CIRCUIT_KINDS.map((kind) => ({ kind, ...loads[kind], energyWh: Math.floor(random() * 50_000), relayClosed: true }));
  }

  /** Adds `wh` to the socket circuit's register at the next reading. */
  surge(wh: number): void {
    this.surgeWh += wh;
  }

  setRelay(target: SupplyTarget, closed: boolean): void {
    for (const circuit of this.circuits) if (circuit.kind === target) circuit.relayClosed = closed;
  }

  /** Integrates the load since the last reading and returns the reading the meter gives at `at`. */
  read(at: number, jitter: number): ElectricReading {
    const elapsedMs = this.lastAt === undefined ? 0 : Math.max(0, at - this.lastAt);
    this.lastAt = at;
    const samples: CircuitSample[] = [];
    let energyWh = 0;
    let powerW = 0;
    let apparentVa = 0;
    for (const c of this.circuits) {
      const p = c.relayClosed ? c.powerW * (1 + jitter) : 0;
      c.energyWh += (p * elapsedMs) / 3_600_000;
      if (c.kind === 'socket' && this.surgeWh > 0 && c.relayClosed) {
        c.energyWh += this.surgeWh;
        this.surgeWh = 0;
      }
      const current = p / (VOLTAGE_V * c.powerFactor);
      samples.push({
        kind: c.kind,
        voltageV: VOLTAGE_V,
        currentA: Math.round(current * 100) / 100,
        powerW: Math.round(p),
        powerFactor: c.powerFactor,
        energyWh: Math.floor(c.energyWh),
        relayClosed: c.relayClosed,
      });
      energyWh += c.energyWh;
      powerW += p;
      apparentVa += p / c.powerFactor;
    }
    return {
      type: 'electric',
      unitAddress: this.placement.unitAddress,
      at,
      energyWh: Math.floor(energyWh),
      voltageV: VOLTAGE_V,
      currentA: Math.round((apparentVa / VOLTAGE_V) * 100) / 100,
      powerW: Math.round(powerW),
      powerFactor: apparentVa > 0 ? Math.round((powerW / apparentVa) * 1000) / 1000 : 1,
      circuits: samples,
      flags: { coverOpen: false, reverseConnection: false },
      alarmWord: 0,
    };
  }
}
