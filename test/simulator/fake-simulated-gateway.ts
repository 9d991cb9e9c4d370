import type { MeterProfileName } from '../../src/drivers/gateway-driver.ts';
import type { CircuitSample, ElectricReading, MeterReading, SupplyTarget, WaterReading } from '../../src/domain/reading.ts';
import type { SimulatedGatewayView, SimulatedMeterView } from '../../src/simulator/simulated-gateway.ts';

/**
 * A minimal SimulatedGatewayView for driver and server tests: fixed readings that tests
 * edit, relays that obey at once (unless `obey` is false). Not the simulator's load model.
 */
export class FakeMeter implements SimulatedMeterView {
  readonly supplyCalls: Array<{ target: SupplyTarget; closed: boolean }> = [];
  obey = true;
  failReads = false;

  constructor(
    readonly unitAddress: string,
    readonly profile: MeterProfileName,
    public reading: MeterReading,
  ) {}

  read(): MeterReading {
    if (this.failReads) throw new Error('meter model failure');
    return this.reading;
  }

  setSupply(target: SupplyTarget, closed: boolean): void {
    this.supplyCalls.push({ target, closed });
    if (!this.obey) return;
    const r = this.reading;
    if (r.type === 'water') {
      if (target === 'valve') this.reading = { ...r, valveOpen: closed };
    } else if (target === 'main') {
      this.reading = { ...r, relayClosed: closed };
    } else {
      this.reading = { ...r, circuits: r.circuits.map((c) => (c.kind === target ? { ...c, relayClosed: closed } : c)) };
    }
  }
}

export class FakeGateway implements SimulatedGatewayView {
  private isOnline = true;
  private readonly listeners = new Set<(online: boolean) => void>();
  private readonly byUnit = new Map<string, FakeMeter>();

  constructor(
    readonly gatewayId: string,
    meters: readonly FakeMeter[],
  ) {
    for (const meter of meters) this.byUnit.set(meter.unitAddress, meter);
  }

  get online(): boolean {
    return this.isOnline;
  }

  setOnline(online: boolean): void {
    if (online === this.isOnline) return;
    this.isOnline = online;
    for (const listener of this.listeners) listener(online);
  }

  meters(): readonly FakeMeter[] {
    return [...this.byUnit.values()];
  }

  meter(unitAddress: string): FakeMeter | undefined {
    return this.byUnit.get(unitAddress);
  }

  onOnlineChange(listener: (online: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const AT = Date.UTC(2025, 8, 1, 8, 0, 0);

function circuit(kind: CircuitSample['kind'], i: number): CircuitSample {
  return {
    kind,
    voltageV: 229.8,
    currentA: [0.5, 1.25, 3.07][i]!,
    powerW: [100, 280, -650][i]!,
    powerFactor: [0.95, 0.8, -0.921][i]!,
    energyWh: [70_000, 82_345, 4_294_967_295][i]!,
    relayClosed: true,
  };
}

export function campusReading(unitAddress: string, over: Partial<ElectricReading> = {}): ElectricReading {
  return {
    type: 'electric',
    unitAddress,
    at: AT,
    energyWh: 123_456,
    voltageV: 230.1,
    currentA: 4.56,
    powerW: 1_049,
    powerFactor: 0.987,
    circuits: [circuit('lighting', 0), circuit('socket', 1), circuit('ac', 2)],
    flags: { coverOpen: false, reverseConnection: false },
    alarmWord: 0,
    ...over,
  };
}

export function sdm120Reading(unitAddress: string, over: Partial<ElectricReading> = {}): ElectricReading {
  return {
    type: 'electric',
    unitAddress,
    at: AT,
    energyWh: 1_234_567,
    voltageV: 230,
    currentA: 1.25,
    powerW: 287.5,
    powerFactor: 1,
    circuits: [],
    flags: { coverOpen: false, reverseConnection: false },
    alarmWord: 0,
    ...over,
  };
}

export function acrelReading(unitAddress: string, over: Partial<ElectricReading> = {}): ElectricReading {
  return {
    type: 'electric',
    unitAddress,
    at: AT,
    energyWh: 98_760,
    voltageV: 221.3,
    currentA: 3.21,
    powerW: 702,
    powerFactor: 0.989,
    circuits: [],
    relayClosed: true,
    flags: { coverOpen: false, reverseConnection: false },
    alarmWord: 0,
    ...over,
  };
}

export function waterReading(unitAddress: string, over: Partial<WaterReading> = {}): WaterReading {
  return { type: 'water', unitAddress, at: AT, volumeL: 54_321, valveOpen: true, ...over };
}
