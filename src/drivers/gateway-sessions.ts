import type { Logger } from 'pino';
import { SystemClock, type Clock } from '../clock.ts';
import type { GatewayTopology } from '../db/topology.repository.ts';
import { gatewayAddressProblem, parseModbusTcpAddress, SIMULATOR_GATEWAY_ADDRESS } from '../domain/gateway-address.ts';
import { EmbeddedBroker } from './embedded-broker.ts';
import type { GatewayDriver, GatewayDriverListener } from './gateway-driver.ts';
import { ModbusTcpDriver } from './modbus-tcp.driver.ts';
import { MqttConnection } from './mqtt-connection.ts';
import { MqttGatewayDriver } from './mqtt.driver.ts';

/** Where a gateway whose address is `simulator` really is (from the in-process simulator). */
export type SimulatedEndpoint = { readonly protocol: 'modbus-tcp'; readonly host: string; readonly port: number } | { readonly protocol: 'mqtt'; readonly gatewayId: string };

export interface GatewaySessionsOptions {
  readonly clock: Clock;
  readonly log: Logger;
  readonly pollIntervalMs: number;
  /** External broker; unset = the simulator's broker, or an embedded one. */
  readonly mqttUrl: string | undefined;
  readonly mqttTopicPrefix?: string;
  /** MQTT gateways' publish period (real ms): meters are offline after 3 missed. */
  readonly mqttIntervalMs?: number;
}

export class GatewayAddressError extends Error {}

/**
 * Builds driver sessions from gateway rows: Modbus TCP at `host:port`, MQTT gateways on one
 * shared connection per node, `simulator` gateways at the in-process simulator's endpoints.
 * Owns the MQTT connection (and an embedded broker when no broker is configured).
 */
export class GatewaySessions {
  private connection: MqttConnection | undefined;
  private broker: EmbeddedBroker | undefined;
  private simulated: ReadonlyMap<string, SimulatedEndpoint> = new Map();
  private mqttUrl: string | undefined;

  constructor(private readonly options: GatewaySessionsOptions) {}

  /** Connects MQTT when any gateway needs it. */
  async start(gateways: readonly GatewayTopology[], simulator?: { mqttUrl: string; gateways: ReadonlyMap<string, SimulatedEndpoint> }): Promise<void> {
    this.simulated = simulator?.gateways ?? new Map();
    this.mqttUrl = this.options.mqttUrl ?? simulator?.mqttUrl;
    if (!gateways.some((g) => g.protocol === 'mqtt')) return;
    if (!this.mqttUrl) {
      this.broker = new EmbeddedBroker();
      this.mqttUrl = (await this.broker.start()).url;
      this.options.log.info({ url: this.mqttUrl }, 'no MQTT_URL: started an embedded broker');
    }
    this.connection = new MqttConnection({ url: this.mqttUrl, topicPrefix: this.options.mqttTopicPrefix ?? 'campus', logger: this.options.log.child({ component: 'mqtt' }) });
    await this.connection.start();
  }

  create(gateway: GatewayTopology, listener: GatewayDriverListener): GatewayDriver {
    const simulated = gateway.address === SIMULATOR_GATEWAY_ADDRESS ? this.simulated.get(gateway.id) : undefined;
    if (gateway.address === SIMULATOR_GATEWAY_ADDRESS && !simulated) {
      throw new GatewayAddressError(`gateway ${gateway.id}: address "simulator" but the in-process simulator does not run it (start with --simulate, or give the gateway its real address)`);
    }
    if (gateway.protocol === 'modbus-tcp') {
      let host: string;
      let port: number;
      if (simulated?.protocol === 'modbus-tcp') ({ host, port } = simulated);
      else {
        const parsed = parseModbusTcpAddress(gateway.address);
        if (!parsed) throw new GatewayAddressError(`gateway ${gateway.id}: ${gatewayAddressProblem('modbus-tcp', gateway.address, false) ?? 'bad address'}`);
        ({ host, port } = parsed);
      }
      return new ModbusTcpDriver({
        host,
        port,
        clock: this.options.clock,
        listener,
        pollIntervalMs: this.options.pollIntervalMs,
        onError: (error) => this.options.log.warn({ err: error, gateway: gateway.id }, 'modbus driver error'),
      });
    }
    if (!this.connection) throw new GatewayAddressError(`gateway ${gateway.id}: no MQTT connection`);
    return new MqttGatewayDriver({
      gatewayId: gateway.id,
      connection: this.connection,
      listener,
      // Staleness on wall-clock time: gateways publish on a real-time cadence whatever the simulated speed.
      clock: new SystemClock(),
      expectedIntervalMs: this.options.mqttIntervalMs ?? 1000,
    });
  }

  async stop(): Promise<void> {
    await this.connection?.stop().catch(() => undefined);
    this.connection = undefined;
    await this.broker?.stop().catch(() => undefined);
    this.broker = undefined;
  }
}
