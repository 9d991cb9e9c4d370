/**
 * The simulator as a running thing: the simulated campus plus its protocol front-ends, one
 * Modbus TCP server per `modbus-tcp` gateway (ephemeral ports) and one MQTT publisher per
 * `mqtt` gateway on `mqttUrl` (the app's embedded broker or MQTT_URL), each with the
 * credential `gatewayCredentials` issues for it. The simulator owns no broker: brokers
 * authenticate, and the app owns the one that knows the credentials.
 * The constructor only assigns; `start()` / `stop()` own sockets and the broker. The
 * control API (src/http/simulator.routes.ts) goes through the methods here.
 *
 * Clocks: the physics runs on the injected SimulatedClock (registers, readings' `at`), but
 * MQTT telemetry is published on a real-time cadence (`publishIntervalMs` of wall time):
 * at 3600x a simulated-time cadence would mean thousands of messages a second per gateway.
 * The MQTT driver must therefore expect one message per `publishIntervalMs` of real time,
 * and Modbus pollers read whenever they like (every read is brought up to the clock).
 */
import type { Logger } from 'pino';
import { SystemClock, type SimulatedClock } from '../clock.ts';
import type { CircuitKind } from '../domain/reading.ts';
import { withoutUserInfo } from '../drivers/broker-url.ts';
import type { BrokerCredentials } from '../drivers/campus-broker-access.ts';
import { DEFAULT_TOPIC_PREFIX } from '../drivers/mqtt-topics.ts';
import type { ApplianceKind, ApplianceUsage } from './appliance.ts';
import { ModbusGatewayServer } from './modbus-gateway-server.ts';
import { MqttGatewayPublisher } from './mqtt-gateway-publisher.ts';
import { SimulatedCampus, type DormitoryEventKind, type SimulatedCampusDescription } from './simulated-campus.ts';
import type { GatewayProtocol } from './simulated-gateway-model.ts';
import { SimulatorError } from './simulator-error.ts';

export interface SimulatorRuntimeOptions {
  readonly description: SimulatedCampusDescription;
  /** Shared with the rest of the app: the control API changes its speed and jumps it. */
  readonly clock: SimulatedClock;
  /** Broker for the MQTT gateways, or how to get it at start; required when the campus has any. */
  readonly mqttUrl?: string | (() => Promise<string>);
  /** Each MQTT gateway's broker credential, asked at start; unset = connect without one (an anonymous broker). */
  readonly gatewayCredentials?: (gatewayId: string) => Promise<BrokerCredentials>;
  /** Bind address of the Modbus servers. Default 127.0.0.1. */
  readonly host?: string;
  /** MQTT telemetry period, real (wall-clock) milliseconds. Default 1000. */
  readonly publishIntervalMs?: number;
  /** MQTT topic prefix (docs/mqtt.md). Default `campus`. */
  readonly topicPrefix?: string;
  readonly log?: Logger;
}

export type SimulatorGatewayEndpoint =
  | { readonly protocol: 'modbus-tcp'; readonly host: string; readonly port: number }
  /** `credentials`: what this simulated gateway connects with, in process only (never served over REST). */
  | { readonly protocol: 'mqtt'; readonly gatewayId: string; readonly credentials?: BrokerCredentials };

export interface SimulatorEndpoints {
  /** The broker the MQTT gateways publish on; '' when the campus has no MQTT gateway. */
  readonly mqttUrl: string;
  readonly topicPrefix: string;
  /** MQTT telemetry period, real milliseconds: the MQTT driver's expected interval. */
  readonly publishIntervalMs: number;
  /** By gateway id. */
  readonly gateways: ReadonlyMap<string, SimulatorGatewayEndpoint>;
}

/** The control events: the campus's own, plus the two that clear its latched flags. */
export type SimulatorEventKind = DormitoryEventKind | 'cover_closed' | 'connection_fixed';
export const SIMULATOR_EVENT_KINDS: readonly SimulatorEventKind[] = [
  'ac_unplugged',
  'ac_plugged',
  'cover_opened',
  'cover_closed',
  'reverse_connection',
  'connection_fixed',
];

export interface SimulatorClockState {
  /** Simulated time, ISO and epoch ms. */
  readonly time: string;
  readonly timeMs: number;
  /** Simulated ms per real ms (0 = frozen). */
  readonly speed: number;
}

/** A bad control input; `field` names the input at fault. */
export class SimulatorInputError extends SimulatorError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('INVALID_INPUT', message);
  }
}

/** What `GET /api/simulator` shows: a summary, never every meter. */
export interface SimulatorStatus {
  readonly running: boolean;
  readonly clock: SimulatorClockState;
  readonly utcOffsetMinutes: number;
  readonly seed: number;
  readonly mqttUrl: string | null;
  readonly totals: {
    readonly gateways: number;
    readonly gatewaysOnline: number;
    readonly meters: number;
    readonly dormitories: number;
    /** Sum of |active power| over the electricity meters, W. */
    readonly powerW: number;
    readonly waterFlowLpm: number;
  };
  readonly gateways: readonly {
    readonly gatewayId: string;
    readonly protocol: GatewayProtocol;
    readonly online: boolean;
    readonly meterCount: number;
    /** Modbus TCP only. */
    readonly port: number | null;
  }[];
  /** Only dormitories the control API touched: an appliance plugged, or a flag raised. */
  readonly dormitories: readonly SimulatorDormitoryStatus[];
}

export interface SimulatorDormitoryStatus {
  readonly dormitoryId: string;
  readonly powerW: number;
  readonly energyWh: number;
  readonly relays: Readonly<Partial<Record<CircuitKind | 'main', boolean>>>;
  readonly coverOpen: boolean;
  readonly reverseConnection: boolean;
  /** Everything plugged into the room; `api` marks what the control API plugged. */
  readonly appliances: readonly {
    readonly id: string;
    readonly kind: ApplianceKind;
    readonly circuit: CircuitKind;
    readonly usage: ApplianceUsage;
    readonly api: boolean;
  }[];
}

interface Running {
  readonly campus: SimulatedCampus;
  readonly endpoints: SimulatorEndpoints;
  readonly modbus: ReadonlyMap<string, ModbusGatewayServer>;
  readonly publishers: readonly MqttGatewayPublisher[];
}

interface Startable {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

export const MAX_SIMULATOR_SPEED = 3600;

export class SimulatorRuntime {
  private running: Running | undefined;
  private starting: Promise<SimulatorEndpoints> | undefined;
  /** Appliance ids the control API plugged, by dormitory. */
  private readonly apiAppliances = new Map<string, Set<string>>();
  /** Dormitories the control API touched (shown in status while something is set). */
  private readonly touched = new Set<string>();

  constructor(private readonly options: SimulatorRuntimeOptions) {}

  get clock(): SimulatedClock {
    return this.options.clock;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** The simulated campus; only while started. */
  get campus(): SimulatedCampus {
    return this.require().campus;
  }

  /** The endpoints `start()` returned; only while started. */
  get endpoints(): SimulatorEndpoints {
    return this.require().endpoints;
  }

  private get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  private get publishIntervalMs(): number {
    return this.options.publishIntervalMs ?? 1000;
  }

  /** Builds the campus and starts every front-end; all or nothing. */
  start(): Promise<SimulatorEndpoints> {
    if (this.running) return Promise.resolve(this.running.endpoints);
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Stops publishers, then Modbus servers. Never throws; failures are logged. */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    await this.stopAll(running.publishers, 'MQTT publisher');
    await this.stopAll([...running.modbus.values()], 'Modbus server');
    this.options.log?.info('simulator stopped');
  }

  // ---- control API ----

  plugAppliance(dormitoryId: string, kind: ApplianceKind, circuit: CircuitKind): string {
    const id = this.campus.plug(dormitoryId, kind, circuit, 'continuous');
    this.apiAppliancesOf(dormitoryId).add(id);
    this.touched.add(dormitoryId);
    this.options.log?.info({ dormitoryId, kind, circuit, applianceId: id }, 'simulator: appliance plugged');
    return id;
  }

  unplugAppliance(dormitoryId: string, applianceId: string): void {
    this.campus.unplug(dormitoryId, applianceId);
    this.apiAppliances.get(dormitoryId)?.delete(applianceId);
    this.options.log?.info({ dormitoryId, applianceId }, 'simulator: appliance unplugged');
  }

  raiseEvent(dormitoryId: string, kind: SimulatorEventKind): void {
    const campus = this.campus;
    switch (kind) {
      case 'cover_closed':
      case 'connection_fixed': {
        const dormitory = campus.dormitory(dormitoryId);
        if (!dormitory) throw new SimulatorError('DORMITORY_NOT_FOUND', `no dormitory ${dormitoryId}`);
        const meter = dormitory.electric;
        if (!meter) throw new SimulatorError('NO_ELECTRIC_METER', `dormitory ${dormitoryId} has no electricity meter`);
        if (kind === 'cover_closed') meter.setCoverOpen(false);
        else meter.setReverseConnection(false);
        break;
      }
      case 'ac_unplugged':
        for (const id of campus.raiseEvent(dormitoryId, kind)) this.apiAppliances.get(dormitoryId)?.delete(id);
        break;
      case 'ac_plugged':
      case 'cover_opened':
      case 'reverse_connection':
        campus.raiseEvent(dormitoryId, kind);
        break;
      default:
        throw new SimulatorInputError('kind', `unknown event '${String(kind)}'`);
    }
    this.touched.add(dormitoryId);
    this.options.log?.info({ dormitoryId, event: kind }, 'simulator: event raised');
  }

  setGatewayOnline(gatewayId: string, online: boolean): void {
    this.campus.setGatewayOnline(gatewayId, online);
    this.options.log?.info({ gatewayId, online }, 'simulator: gateway online changed');
  }

  /** Jumps the clock (forward only), then sets its speed; checks both before changing either. */
  setClock(change: { readonly speed?: number; readonly timeMs?: number }): SimulatorClockState {
    const { speed, timeMs } = change;
    if (speed !== undefined && !(Number.isFinite(speed) && speed >= 0 && speed <= MAX_SIMULATOR_SPEED)) {
      throw new SimulatorInputError('speed', `speed must be within 0..${MAX_SIMULATOR_SPEED}, got ${speed}`);
    }
    if (timeMs !== undefined && !Number.isFinite(timeMs)) throw new SimulatorInputError('time', 'time is not a valid time');
    if (timeMs !== undefined && timeMs < this.clock.now()) {
      throw new SimulatorInputError('time', `time ${new Date(timeMs).toISOString()} is before the simulated now (${new Date(this.clock.now()).toISOString()}); the clock only moves forward`);
    }
    // The speed first, then the jump: "speed 0 at 08:00" stops the clock at 08:00 exactly. The other
    // way round, the clock ran on at the old speed while the jump fired the timers that fell due
    // (3 ms at 3600x is 10.8 simulated seconds; a soak run saw 00:00:10.8 for 00:00:00).
    const speedBefore = this.clock.speed;
    if (speed !== undefined) this.clock.setSpeed(speed);
    if (timeMs !== undefined) {
      try {
        this.clock.jumpTo(timeMs);
      } catch (error) {
        if (speed !== undefined) this.clock.setSpeed(speedBefore); // a refused request changes nothing
        if (!(error instanceof RangeError)) throw error;
        throw new SimulatorInputError('time', `time ${new Date(timeMs).toISOString()} is before the simulated now (${new Date(this.clock.now()).toISOString()}); the clock only moves forward`);
      }
    }
    this.options.log?.info({ speed: this.clock.speed, at: new Date(this.clock.now()).toISOString() }, 'simulator: clock changed');
    return this.clockState();
  }

  clockState(): SimulatorClockState {
    const timeMs = Math.floor(this.clock.now());
    return { time: new Date(timeMs).toISOString(), timeMs, speed: this.clock.speed };
  }

  status(): SimulatorStatus {
    const running = this.running;
    const clock = this.clockState();
    if (!running) {
      const description = this.options.description;
      return {
        running: false,
        clock,
        utcOffsetMinutes: description.utcOffsetMinutes ?? 480,
        seed: description.seed ?? 1,
        mqttUrl: null,
        totals: { gateways: 0, gatewaysOnline: 0, meters: 0, dormitories: 0, powerW: 0, waterFlowLpm: 0 },
        gateways: [],
        dormitories: [],
      };
    }
    const { campus } = running;
    let powerW = 0;
    let waterFlowLpm = 0;
    let meters = 0;
    const gateways = campus.gateways().map((gateway) => {
      for (const meter of gateway.meters()) {
        if (meter.profile === 'water-valve') waterFlowLpm += meter.flowLitresPerMinute();
        else powerW += Math.abs(meter.read().powerW);
      }
      meters += gateway.meters().length;
      return {
        gatewayId: gateway.gatewayId,
        protocol: gateway.protocol,
        online: gateway.online,
        meterCount: gateway.meters().length,
        port: running.modbus.get(gateway.gatewayId)?.port ?? null,
      };
    });
    return {
      running: true,
      clock,
      utcOffsetMinutes: campus.utcOffsetMinutes,
      seed: campus.seed,
      mqttUrl: running.endpoints.mqttUrl === '' ? null : withoutUserInfo(running.endpoints.mqttUrl),
      totals: {
        gateways: gateways.length,
        gatewaysOnline: gateways.filter((g) => g.online).length,
        meters,
        dormitories: campus.dormitoryIds().length,
        powerW: Math.round(powerW * 10) / 10,
        waterFlowLpm: Math.round(waterFlowLpm * 1000) / 1000,
      },
      gateways,
      dormitories: this.touchedDormitories(campus),
    };
  }

  // ---- internals ----

  private require(): Running {
    if (!this.running) throw new Error('the simulator is not running');
    return this.running;
  }

  private apiAppliancesOf(dormitoryId: string): Set<string> {
    let ids = this.apiAppliances.get(dormitoryId);
    if (!ids) this.apiAppliances.set(dormitoryId, (ids = new Set()));
    return ids;
  }

  private touchedDormitories(campus: SimulatedCampus): SimulatorDormitoryStatus[] {
    const out: SimulatorDormitoryStatus[] = [];
    for (const dormitoryId of this.touched) {
      const meter = campus.dormitory(dormitoryId)?.electric;
      const apiIds = this.apiAppliances.get(dormitoryId) ?? new Set<string>();
      if (!meter || (apiIds.size === 0 && !meter.flags.coverOpen && !meter.flags.reverseConnection)) {
        this.touched.delete(dormitoryId);
        this.apiAppliances.delete(dormitoryId);
        continue;
      }
      const reading = meter.read();
      const relays: Partial<Record<CircuitKind | 'main', boolean>> = {};
      for (const circuit of reading.circuits) relays[circuit.kind] = circuit.relayClosed;
      if (reading.relayClosed !== undefined) relays.main = reading.relayClosed;
      out.push({
        dormitoryId,
        powerW: reading.powerW,
        energyWh: reading.energyWh,
        relays,
        coverOpen: reading.flags.coverOpen,
        reverseConnection: reading.flags.reverseConnection,
        appliances: meter.load.appliances().map(({ id, kind, circuit, usage }) => ({ id, kind, circuit, usage, api: apiIds.has(id) })),
      });
    }
    return out;
  }

  private async doStart(): Promise<SimulatorEndpoints> {
    const { clock, log } = this.options;
    const campus = new SimulatedCampus(this.options.description, clock);
    const started: Startable[][] = [];
    try {
      const mqttGateways = campus.gateways().filter((gateway) => gateway.protocol === 'mqtt');
      const configuredUrl = this.options.mqttUrl;
      const mqttUrl = mqttGateways.length === 0 ? '' : typeof configuredUrl === 'function' ? await configuredUrl() : configuredUrl;
      if (mqttUrl === undefined) throw new Error(`the simulated campus has ${mqttGateways.length} MQTT gateways but no broker was given`);
      const gateways = new Map<string, SimulatorGatewayEndpoint>();
      const modbus = new Map<string, ModbusGatewayServer>();
      for (const gateway of campus.gateways()) {
        if (gateway.protocol === 'modbus-tcp') modbus.set(gateway.gatewayId, new ModbusGatewayServer({ gateway, host: this.host }));
      }
      await this.startAll([...modbus.values()], started);
      for (const [gatewayId, server] of modbus) gateways.set(gatewayId, { protocol: 'modbus-tcp', host: server.host, port: server.port });

      // Real-time cadence (see the file comment); readings carry simulated time.
      const cadence = new SystemClock();
      const publishers: MqttGatewayPublisher[] = [];
      for (const gateway of mqttGateways) {
        const credentials = await this.options.gatewayCredentials?.(gateway.gatewayId);
        publishers.push(
          new MqttGatewayPublisher({
            view: gateway,
            url: mqttUrl,
            clock: cadence,
            publishIntervalMs: this.publishIntervalMs,
            ...(credentials ? { credentials } : {}),
            ...(this.options.topicPrefix === undefined ? {} : { topicPrefix: this.options.topicPrefix }),
          }),
        );
        gateways.set(gateway.gatewayId, { protocol: 'mqtt', gatewayId: gateway.gatewayId, ...(credentials ? { credentials } : {}) });
      }
      await this.startAll(publishers, started);

      const endpoints: SimulatorEndpoints = {
        mqttUrl,
        topicPrefix: this.options.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
        publishIntervalMs: this.publishIntervalMs,
        gateways,
      };
      this.running = { campus, endpoints, modbus, publishers };
      log?.info(
        { gateways: gateways.size, modbus: modbus.size, mqtt: publishers.length, mqttUrl },
        'simulator started',
      );
      return endpoints;
    } catch (error) {
      for (const group of started.reverse()) await this.stopAll(group, 'simulator front-end');
      throw error;
    }
  }

  /** Starts all in parallel; records those that started in `started` (for the rollback), then rethrows the first failure. */
  private async startAll(items: readonly Startable[], started: Startable[][]): Promise<void> {
    const results = await Promise.allSettled(items.map((item) => item.start()));
    started.push(items.filter((_item, i) => results[i]!.status === 'fulfilled'));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async stopAll(items: readonly Startable[], what: string): Promise<void> {
    const results = await Promise.allSettled(items.map((item) => item.stop()));
    for (const result of results) {
      if (result.status === 'rejected') this.options.log?.warn({ err: result.reason }, `simulator: ${what} did not stop cleanly`);
    }
  }
}

