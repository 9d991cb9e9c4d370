/**
 * The simulated campus: gateways with their meters, and the dormitories those meters
 * serve, built from a plain description (the lead seeds it from the database). The
 * control API goes through here: plug appliances into a dormitory, raise events, drop
 * gateways. Time is the injected clock; nothing here owns a timer.
 *
 * A dormitory has at most one electricity meter (whose room load it is) and at most one
 * water meter, possibly behind different gateways.
 */
import type { Clock } from '../clock.ts';
import { CIRCUIT_KINDS, type CircuitKind } from '../domain/reading.ts';
import type { MeterProfileName } from '../drivers/gateway-driver.ts';
import { isApplianceKind, type ApplianceKind, type ApplianceUsage } from './appliance.ts';
import { Prng, hash32, hashString } from './prng.ts';
import { RoomLoad, furnishRoom } from './room-load.ts';
import { SimulatedElectricMeter, type ElectricProfileName } from './simulated-electric-meter.ts';
import { SimulatedGatewayModel, type GatewayProtocol, type SimulatedMeter } from './simulated-gateway-model.ts';
import { SimulatedWaterMeter } from './simulated-water-meter.ts';
import { SimulatorError } from './simulator-error.ts';

export interface SimulatedMeterDescription {
  readonly unitAddress: string;
  readonly profile: MeterProfileName;
  readonly dormitoryId: string;
  /** Electricity meters: starting registers, Wh (per circuit, or `main` for single-line meters). */
  readonly initialEnergyWh?: Readonly<Partial<Record<CircuitKind | 'main', number>>>;
  /** Water meters: starting register, L. */
  readonly initialVolumeL?: number;
  /** Electricity meters: start with a lived-in room (lamps, chargers, laptops, AC). Default true. */
  readonly furnished?: boolean;
}

export interface SimulatedGatewayDescription {
  readonly gatewayId: string;
  readonly protocol: GatewayProtocol;
  readonly meters: readonly SimulatedMeterDescription[];
}

export interface SimulatedCampusDescription {
  readonly gateways: readonly SimulatedGatewayDescription[];
  /** Campus time zone, minutes east of UTC. Default 480 (China). */
  readonly utcOffsetMinutes?: number;
  /** Everything random derives from it. Default 1. */
  readonly seed?: number;
}

export type DormitoryEventKind = 'ac_unplugged' | 'ac_plugged' | 'cover_opened' | 'reverse_connection';
export const DORMITORY_EVENT_KINDS: readonly DormitoryEventKind[] = [
  'ac_unplugged',
  'ac_plugged',
  'cover_opened',
  'reverse_connection',
];

export interface SimulatedDormitory {
  readonly dormitoryId: string;
  readonly electric: SimulatedElectricMeter | undefined;
  readonly electricGatewayId: string | undefined;
  readonly water: SimulatedWaterMeter | undefined;
  readonly waterGatewayId: string | undefined;
}

export interface SimulatedCampusStatus {
  /** Simulated time, epoch ms and ISO. */
  readonly atMs: number;
  readonly at: string;
  readonly utcOffsetMinutes: number;
  readonly seed: number;
  readonly gatewaysOnline: number;
  readonly meterCount: number;
  /** Sum of |active power| over all electricity meters, W. */
  readonly totalPowerW: number;
  readonly totalWaterFlowLpm: number;
  readonly gateways: readonly SimulatedGatewayStatus[];
  readonly dormitories: readonly SimulatedDormitoryStatus[];
}

export interface SimulatedGatewayStatus {
  readonly gatewayId: string;
  readonly protocol: GatewayProtocol;
  readonly online: boolean;
  readonly meterCount: number;
}

export interface SimulatedDormitoryStatus {
  readonly dormitoryId: string;
  readonly electric: {
    readonly gatewayId: string;
    readonly unitAddress: string;
    readonly profile: ElectricProfileName;
    readonly powerW: number;
    readonly energyWh: number;
    /** Per circuit for the campus meter, `main` for a single-line meter. */
    readonly relays: Readonly<Partial<Record<CircuitKind | 'main', boolean>>>;
    readonly coverOpen: boolean;
    readonly reverseConnection: boolean;
  } | null;
  readonly water: {
    readonly gatewayId: string;
    readonly unitAddress: string;
    readonly volumeL: number;
    readonly valveOpen: boolean;
    readonly flowLpm: number;
  } | null;
  readonly appliances: readonly {
    readonly id: string;
    readonly kind: ApplianceKind;
    readonly circuit: CircuitKind;
    readonly usage: ApplianceUsage;
  }[];
}

interface DormitoryRecord {
  readonly dormitoryId: string;
  electric: SimulatedElectricMeter | undefined;
  electricGatewayId: string | undefined;
  water: SimulatedWaterMeter | undefined;
  waterGatewayId: string | undefined;
}

const PROFILES: readonly MeterProfileName[] = ['campus-1in3out', 'sdm120', 'acrel-ddsy1352', 'water-valve'];
const PROTOCOLS: readonly GatewayProtocol[] = ['modbus-tcp', 'mqtt'];

export class SimulatedCampus {
  readonly utcOffsetMinutes: number;
  readonly seed: number;
  private readonly gatewayMap = new Map<string, SimulatedGatewayModel>();
  private gatewayList: readonly SimulatedGatewayModel[] = [];
  private readonly dormitoryMap = new Map<string, DormitoryRecord>();

  constructor(
    description: SimulatedCampusDescription,
    private readonly clock: Clock,
  ) {
    this.utcOffsetMinutes = description.utcOffsetMinutes ?? 480;
    this.seed = description.seed ?? 1;
    if (!Number.isInteger(this.utcOffsetMinutes) || Math.abs(this.utcOffsetMinutes) > 14 * 60) {
      throw new SimulatorError('INVALID_INPUT', `utcOffsetMinutes must be an integer within +-840, got ${this.utcOffsetMinutes}`);
    }
    if (!Number.isInteger(this.seed)) throw new SimulatorError('INVALID_INPUT', `seed must be an integer, got ${this.seed}`);
    for (const gateway of description.gateways) this.addGateway(gateway);
  }

  gateways(): readonly SimulatedGatewayModel[] {
    return this.gatewayList;
  }

  gateway(gatewayId: string): SimulatedGatewayModel | undefined {
    return this.gatewayMap.get(gatewayId);
  }

  dormitory(dormitoryId: string): SimulatedDormitory | undefined {
    return this.dormitoryMap.get(dormitoryId);
  }

  dormitoryIds(): readonly string[] {
    return [...this.dormitoryMap.keys()];
  }

  /** Adds a gateway and its meters (all or nothing). */
  addGateway(description: SimulatedGatewayDescription): SimulatedGatewayModel {
    if (this.gatewayMap.has(description.gatewayId)) {
      throw new SimulatorError('GATEWAY_EXISTS', `gateway ${description.gatewayId} already exists`);
    }
    if (!PROTOCOLS.includes(description.protocol)) {
      throw new SimulatorError('INVALID_INPUT', `gateway ${description.gatewayId}: unknown protocol '${description.protocol}'`);
    }
    const gateway = new SimulatedGatewayModel(description.gatewayId, description.protocol);
    this.gatewayMap.set(gateway.gatewayId, gateway);
    this.gatewayList = [...this.gatewayMap.values()];
    try {
      for (const meter of description.meters) this.addMeter(gateway.gatewayId, meter);
    } catch (error) {
      this.removeGateway(gateway.gatewayId);
      throw error;
    }
    return gateway;
  }

  /** Removes a gateway with its meters (their dormitories lose those meters). */
  removeGateway(gatewayId: string): void {
    const gateway = this.requireGateway(gatewayId);
    for (const meter of [...gateway.meters()]) this.removeMeter(gatewayId, meter.unitAddress);
    this.gatewayMap.delete(gatewayId);
    this.gatewayList = [...this.gatewayMap.values()];
  }

  /** Adds a meter behind a gateway, serving a dormitory (created if new). */
  addMeter(gatewayId: string, description: SimulatedMeterDescription): SimulatedMeter {
    const gateway = this.requireGateway(gatewayId);
    const { unitAddress, profile, dormitoryId } = description;
    if (!PROFILES.includes(profile)) throw new SimulatorError('INVALID_INPUT', `meter ${unitAddress}: unknown profile '${profile}'`);
    if (gateway.meter(unitAddress)) {
      throw new SimulatorError('METER_EXISTS', `gateway ${gatewayId} already has a meter at unit address ${unitAddress}`);
    }
    const record: DormitoryRecord = this.dormitoryMap.get(dormitoryId) ?? {
      dormitoryId,
      electric: undefined,
      electricGatewayId: undefined,
      water: undefined,
      waterGatewayId: undefined,
    };
    const dormitoryKey = hashString(dormitoryId);
    let meter: SimulatedMeter;
    try {
      if (profile === 'water-valve') {
        if (record.water) throw new SimulatorError('METER_EXISTS', `dormitory ${dormitoryId} already has a water meter`);
        meter = new SimulatedWaterMeter({
          unitAddress,
          clock: this.clock,
          seed: hash32(this.seed, dormitoryKey, 2),
          utcOffsetMinutes: this.utcOffsetMinutes,
          initialVolumeL: description.initialVolumeL ?? 0,
        });
        record.water = meter;
        record.waterGatewayId = gatewayId;
      } else {
        if (record.electric) throw new SimulatorError('METER_EXISTS', `dormitory ${dormitoryId} already has an electricity meter`);
        const roomSeed = hash32(this.seed, dormitoryKey, 1);
        const load = new RoomLoad({ seed: roomSeed, utcOffsetMinutes: this.utcOffsetMinutes });
        if (description.furnished ?? true) furnishRoom(load, new Prng(hash32(roomSeed, 3)));
        meter = new SimulatedElectricMeter({
          unitAddress,
          profile,
          clock: this.clock,
          load,
          seed: hash32(this.seed, hashString(gatewayId), hashString(unitAddress)),
          utcOffsetMinutes: this.utcOffsetMinutes,
          initialEnergyWh: description.initialEnergyWh ?? {},
        });
        record.electric = meter;
        record.electricGatewayId = gatewayId;
      }
    } catch (error) {
      if (error instanceof RangeError) throw new SimulatorError('INVALID_INPUT', `meter ${unitAddress}: ${error.message}`);
      throw error;
    }
    gateway.addMeter(meter);
    this.dormitoryMap.set(dormitoryId, record);
    return meter;
  }

  /** Removes a meter; a dormitory left with no meter is forgotten (with its appliances). */
  removeMeter(gatewayId: string, unitAddress: string): void {
    const gateway = this.requireGateway(gatewayId);
    const meter = gateway.removeMeter(unitAddress);
    if (!meter) throw new SimulatorError('METER_NOT_FOUND', `gateway ${gatewayId} has no meter at unit address ${unitAddress}`);
    for (const record of this.dormitoryMap.values()) {
      if (record.electric === meter) {
        meter.dispose();
        record.electric = undefined;
        record.electricGatewayId = undefined;
      } else if (record.water === meter) {
        record.water = undefined;
        record.waterGatewayId = undefined;
      } else continue;
      if (!record.electric && !record.water) this.dormitoryMap.delete(record.dormitoryId);
      break;
    }
  }

  /** Plugs an appliance into a dormitory's circuit; returns its id. */
  plug(dormitoryId: string, kind: ApplianceKind, circuit: CircuitKind, usage: ApplianceUsage = 'continuous'): string {
    if (!isApplianceKind(kind)) throw new SimulatorError('INVALID_INPUT', `unknown appliance kind '${kind}'`);
    if (!CIRCUIT_KINDS.includes(circuit)) throw new SimulatorError('INVALID_INPUT', `unknown circuit '${circuit}'`);
    return this.requireElectric(dormitoryId).load.plug(kind, circuit, { usage });
  }

  unplug(dormitoryId: string, applianceId: string): void {
    if (!this.requireElectric(dormitoryId).load.unplug(applianceId)) {
      throw new SimulatorError('APPLIANCE_NOT_FOUND', `dormitory ${dormitoryId} has no appliance ${applianceId}`);
    }
  }

  /**
   * Raises a control event. `ac_unplugged` pulls every air conditioner off the AC circuit;
   * `ac_plugged` plugs the room's air conditioner back (if none is there). Returns the ids
   * of the appliances unplugged or plugged (empty for the flag events).
   */
  raiseEvent(dormitoryId: string, kind: DormitoryEventKind): readonly string[] {
    const meter = this.requireElectric(dormitoryId);
    switch (kind) {
      case 'ac_unplugged':
        return meter.load.unplugAll('air_conditioner', 'ac');
      case 'ac_plugged': {
        const present = meter.load.appliances().some((a) => a.kind === 'air_conditioner' && a.circuit === 'ac');
        return present ? [] : [meter.load.plug('air_conditioner', 'ac', { usage: 'rhythm' })];
      }
      case 'cover_opened':
        meter.setCoverOpen(true);
        return [];
      case 'reverse_connection':
        meter.setReverseConnection(true);
        return [];
      default:
        throw new SimulatorError('INVALID_INPUT', `unknown event '${String(kind)}'`);
    }
  }

  setGatewayOnline(gatewayId: string, online: boolean): void {
    this.requireGateway(gatewayId).setOnline(online);
  }

  /** Integrates every meter up to now (optional: reads integrate lazily anyway). */
  tick(): void {
    for (const gateway of this.gatewayList) for (const meter of gateway.meters()) meter.tick();
  }

  status(): SimulatedCampusStatus {
    const atMs = Math.floor(this.clock.now());
    let totalPowerW = 0;
    let totalWaterFlowLpm = 0;
    const dormitories: SimulatedDormitoryStatus[] = [];
    for (const record of this.dormitoryMap.values()) {
      const electric = record.electric ? electricStatus(record.electric, record.electricGatewayId!) : null;
      const water = record.water ? waterStatus(record.water, record.waterGatewayId!) : null;
      totalPowerW += Math.abs(electric?.powerW ?? 0);
      totalWaterFlowLpm += water?.flowLpm ?? 0;
      const appliances = (record.electric?.load.appliances() ?? []).map(({ id, kind, circuit, usage }) => ({ id, kind, circuit, usage }));
      dormitories.push({ dormitoryId: record.dormitoryId, electric, water, appliances });
    }
    const gateways = this.gatewayList.map((g) => ({
      gatewayId: g.gatewayId,
      protocol: g.protocol,
      online: g.online,
      meterCount: g.meters().length,
    }));
    return {
      atMs,
      at: new Date(atMs).toISOString(),
      utcOffsetMinutes: this.utcOffsetMinutes,
      seed: this.seed,
      gatewaysOnline: gateways.filter((g) => g.online).length,
      meterCount: gateways.reduce((sum, g) => sum + g.meterCount, 0),
      totalPowerW: Math.round(totalPowerW * 10) / 10,
      totalWaterFlowLpm: Math.round(totalWaterFlowLpm * 1000) / 1000,
      gateways,
      dormitories,
    };
  }

  private requireGateway(gatewayId: string): SimulatedGatewayModel {
    const gateway = this.gatewayMap.get(gatewayId);
    if (!gateway) throw new SimulatorError('GATEWAY_NOT_FOUND', `no gateway ${gatewayId}`);
    return gateway;
  }

  private requireElectric(dormitoryId: string): SimulatedElectricMeter {
    const record = this.dormitoryMap.get(dormitoryId);
    if (!record) throw new SimulatorError('DORMITORY_NOT_FOUND', `no dormitory ${dormitoryId}`);
    if (!record.electric) throw new SimulatorError('NO_ELECTRIC_METER', `dormitory ${dormitoryId} has no electricity meter`);
    return record.electric;
  }
}

function electricStatus(meter: SimulatedElectricMeter, gatewayId: string): NonNullable<SimulatedDormitoryStatus['electric']> {
  const reading = meter.read();
  const relays: Partial<Record<CircuitKind | 'main', boolean>> = {};
  for (const circuit of reading.circuits) relays[circuit.kind] = circuit.relayClosed;
  if (reading.relayClosed !== undefined) relays.main = reading.relayClosed;
  return {
    gatewayId,
    unitAddress: meter.unitAddress,
    profile: meter.profile,
    powerW: reading.powerW,
    energyWh: reading.energyWh,
    relays,
    coverOpen: reading.flags.coverOpen,
    reverseConnection: reading.flags.reverseConnection,
  };
}

function waterStatus(meter: SimulatedWaterMeter, gatewayId: string): NonNullable<SimulatedDormitoryStatus['water']> {
  const reading = meter.read();
  return {
    gatewayId,
    unitAddress: meter.unitAddress,
    volumeL: reading.volumeL,
    valveOpen: reading.valveOpen,
    flowLpm: meter.flowLitresPerMinute(),
  };
}
