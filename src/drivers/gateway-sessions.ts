import type { Logger } from 'pino';
import { SystemClock, type Clock } from '../clock.ts';
import type { GatewayTopology } from '../db/topology.repository.ts';
import { gatewayAddressProblem, parseModbusTcpAddress, SIMULATOR_GATEWAY_ADDRESS } from '../domain/gateway-address.ts';
import { CampusBrokerAccess, newServerBrokerCredentials, type BrokerCredentials } from './campus-broker-access.ts';
import { EmbeddedBroker } from './embedded-broker.ts';
import type { GatewayDriver, GatewayDriverListener } from './gateway-driver.ts';
import { ModbusTcpDriver } from './modbus-tcp.driver.ts';
import { MqttConnection } from './mqtt-connection.ts';
import { MqttGatewayDriver } from './mqtt.driver.ts';
import { MqttTopics } from './mqtt-topics.ts';

/** Where a gateway whose address is `simulator` really is (from the in-process simulator). */
export type SimulatedEndpoint = { readonly protocol: 'modbus-tcp'; readonly host: string; readonly port: number } | { readonly protocol: 'mqtt'; readonly gatewayId: string };

export interface GatewaySessionsOptions {
  readonly clock: Clock;
  readonly log: Logger;
  readonly pollIntervalMs: number;
  /** External broker (its credentials, if any, in the URL); unset = an embedded broker. */
  readonly mqttUrl: string | undefined;
  readonly mqttTopicPrefix?: string;
  /** MQTT gateways' publish period (real ms): meters are offline after 3 missed. */
  readonly mqttIntervalMs?: number;
  /** The embedded broker's check of a gateway's CONNECT (username = gateway id). */
  readonly gatewaySecretValid: (gatewayId: string, secret: string) => Promise<boolean>;
  /** Deadline of the first connection to the broker (default MqttConnection's, 10 s). */
  readonly mqttConnectTimeoutMs?: number;
  /** Told of each telemetry message shed because too many waited for their turn (a metric). */
  readonly onTelemetryShed?: () => void;
}

export class GatewayAddressError extends Error {}

/**
 * Builds driver sessions from gateway rows: Modbus TCP at `host:port`, MQTT gateways on one
 * shared connection per node, `simulator` gateways at the in-process simulator's endpoints.
 * Owns the MQTT connection, and the embedded broker when no broker is configured: that broker
 * authenticates every client (gateways by their issued secret, the server by a credential
 * made here at boot and kept in memory only) and enforces the topic ACL (docs/mqtt.md).
 */
export class GatewaySessions {
  private connection: MqttConnection | undefined;
  private connecting: Promise<void> | undefined;
  private broker: EmbeddedBroker | undefined;
  private brokerUrl: string | undefined;
  private serverCredentials: BrokerCredentials | undefined;
  private simulated: ReadonlyMap<string, SimulatedEndpoint> = new Map();

  constructor(private readonly options: GatewaySessionsOptions) {}

  private get topicPrefix(): string {
    return this.options.mqttTopicPrefix ?? 'campus';
  }

  /** The broker in use once started: MQTT_URL or the embedded broker's; undefined before. */
  get brokerUrlInUse(): string | undefined {
    return this.connection || this.brokerUrl ? (this.options.mqttUrl ?? this.brokerUrl) : undefined;
  }

  /** The broker's URL: MQTT_URL, or an embedded broker started on first call. */
  async startBroker(): Promise<string> {
    if (this.options.mqttUrl) return this.options.mqttUrl;
    if (this.brokerUrl) return this.brokerUrl;
    const server = newServerBrokerCredentials();
    const broker = new EmbeddedBroker({ access: new CampusBrokerAccess(new MqttTopics(this.topicPrefix), server, this.options.gatewaySecretValid) });
    const { url } = await broker.start();
    this.broker = broker;
    this.serverCredentials = server;
    this.brokerUrl = url;
    this.options.log.info({ url }, 'no MQTT_URL: started an embedded broker (credentials and topic ACLs enforced)');
    return url;
  }

  /** Connects MQTT when any gateway needs it. */
  async start(gateways: readonly GatewayTopology[], simulator?: { gateways: ReadonlyMap<string, SimulatedEndpoint> }): Promise<void> {
    this.simulated = simulator?.gateways ?? new Map();
    if (gateways.some((g) => g.protocol === 'mqtt')) await this.connectMqtt();
  }

  /**
   * Makes ready what `create` will need for this gateway: an MQTT gateway added at run time to a
   * node that booted without one connects the node to the broker now (started once, however many
   * callers wait). Rejects when the broker cannot be reached: the caller refuses the gateway.
   */
  async prepare(gateway: Pick<GatewayTopology, 'protocol'>): Promise<void> {
    if (gateway.protocol === 'mqtt') await this.connectMqtt();
  }

  private connectMqtt(): Promise<void> {
    this.connecting ??= (async () => {
      const url = await this.startBroker();
      const credentials = this.serverCredentials;
      const connection = new MqttConnection({
        url,
        topicPrefix: this.topicPrefix,
        logger: this.options.log.child({ component: 'mqtt' }),
        ...(this.options.mqttConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.options.mqttConnectTimeoutMs }),
        ...(this.options.onTelemetryShed ? { onTelemetryShed: this.options.onTelemetryShed } : {}),
        ...(credentials ? { username: credentials.username, password: credentials.password } : {}),
      });
      await connection.start();
      this.connection = connection;
    })().catch((error: unknown) => {
      this.connecting = undefined; // the next gateway added tries again
      throw error;
    });
    return this.connecting;
  }

  /**
   * Drops the live connection of a gateway whose credential was revoked. Only the embedded
   * broker can be told; on an external broker the operator removes the user there
   * (docs/mqtt.md). Returns the number of connections dropped, undefined when external.
   */
  disconnectGateway(gatewayId: string): number | undefined {
    return this.broker?.disconnectGateway(gatewayId);
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
    await this.connecting?.catch(() => undefined);
    this.connecting = undefined;
    await this.connection?.stop().catch(() => undefined);
    this.connection = undefined;
    await this.broker?.stop().catch(() => undefined);
    this.broker = undefined;
    this.brokerUrl = undefined;
    this.serverCredentials = undefined;
  }
}
