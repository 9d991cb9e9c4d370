import { randomUUID } from 'node:crypto';
import { connect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Clock } from '../clock.ts';
import type { MeterReading, SupplyTarget } from '../domain/reading.ts';
import { withoutUserInfo } from '../drivers/broker-url.ts';
import { withTimeout } from '../drivers/mqtt-connection.ts';
import { decodeCommand, encodeAck, encodeTelemetry, STATUS_OFFLINE, STATUS_ONLINE } from '../drivers/mqtt-payload.ts';
import type { AckMessage, CommandMessage } from '../drivers/mqtt-payload.ts';
import { MqttTopics } from '../drivers/mqtt-topics.ts';
import type { SimulatedGatewayView, SimulatedMeterView } from './simulated-gateway.ts';

/**
 * The MQTT face of one simulated gateway, behaving like a 4G/Ethernet gateway in the field
 * (docs/mqtt.md): its own client, last will `offline` (retained) on its status topic,
 * `online` (retained) once connected, telemetry for all its meters every
 * `publishIntervalMs` of `clock` time, commands executed with `setSupply` and acknowledged
 * with the state read back from the meter.
 *
 * When the view goes offline the connection is dropped abruptly (no DISCONNECT), so the
 * broker publishes the last will, and nothing is answered; when it comes back the
 * publisher connects again.
 */
export interface MqttGatewayPublisherOptions {
  readonly view: SimulatedGatewayView;
  /** Broker URL, `mqtt://host:port`. */
  readonly url: string;
  /** Drives the publish cadence; readings carry their own `at` from the view. */
  readonly clock: Clock;
  /** Telemetry period in `clock` milliseconds. */
  readonly publishIntervalMs: number;
  /** Default `campus`. */
  readonly topicPrefix?: string;
  /** The gateway's broker credential (username = gateway id); unset on an anonymous broker. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Default `sim-<gatewayId>-<random>`. */
  readonly clientId?: string;
  /** CONNACK deadline, and the deadline of `start()` / `stop()`. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Fixed reconnect period after a broker-side drop. Default 1 000. */
  readonly reconnectPeriodMs?: number;
  /** MQTT keepalive, seconds. Default 10. */
  readonly keepaliveS?: number;
  /** Meters per telemetry message, so a big gateway stays under the server's limits. Default 32. */
  readonly maxUnitsPerMessage?: number;
}

function supplyState(reading: MeterReading, target: SupplyTarget): boolean | undefined {
  if (target === 'valve') return reading.type === 'water' ? reading.valveOpen : undefined;
  if (reading.type !== 'electric') return undefined;
  if (target === 'main') return reading.relayClosed;
  return reading.circuits.find((circuit) => circuit.kind === target)?.relayClosed;
}

export class MqttGatewayPublisher {
  /** Commands that could not be decoded (and so could not be acknowledged). */
  rejectedCommands = 0;
  /** Last client error, for diagnostics. */
  lastError: Error | undefined;

  private readonly topics: MqttTopics;
  private client: MqttClient | undefined;
  private ready = false;
  private started = false;
  private cancelTick: (() => void) | undefined;
  private unsubscribeView: (() => void) | undefined;

  constructor(private readonly options: MqttGatewayPublisherOptions) {
    this.topics = new MqttTopics(options.topicPrefix);
  }

  /** Connected, subscribed to commands, and `online` published. */
  get connected(): boolean {
    return this.ready && this.client?.connected === true;
  }

  private get view(): SimulatedGatewayView {
    return this.options.view;
  }

  private get timeoutMs(): number {
    return this.options.connectTimeoutMs ?? 10_000;
  }

  /** Starts publishing; if the gateway is online, resolves once it is connected and `online`. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.unsubscribeView = this.view.onOnlineChange((online) => {
      if (!this.started) return;
      if (online) this.connect().catch((error: unknown) => this.noteError(error));
      else this.dropConnection();
    });
    this.scheduleTick();
    if (!this.view.online) return;
    try {
      await this.connect();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Graceful: publishes retained `offline` itself (a clean DISCONNECT suppresses the will). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.cancelTick?.();
    this.cancelTick = undefined;
    this.unsubscribeView?.();
    this.unsubscribeView = undefined;
    const client = this.client;
    this.client = undefined;
    this.ready = false;
    if (!client) return;
    if (client.connected) {
      // If the broker goes away meanwhile, stop waiting for its PUBACK at once.
      const closed = new Promise<never>((_resolve, reject) => client.once('close', () => reject(new Error('connection closed'))));
      closed.catch(() => {});
      try {
        await withTimeout(
          Promise.race([client.publishAsync(this.topics.topic(this.view.gatewayId, 'status'), STATUS_OFFLINE, { qos: 1, retain: true }), closed]),
          this.timeoutMs,
          'gateway offline status',
        );
        await withTimeout(client.endAsync(false), this.timeoutMs, 'gateway disconnect');
        return;
      } catch (error) {
        this.noteError(error);
      }
    }
    client.end(true);
  }

  /** Publishes every meter's reading now. False when not connected (nothing is queued). */
  publishTelemetry(): boolean {
    const client = this.client;
    if (!client || !this.connected || !this.view.online) return false;
    const meters = this.view.meters();
    const chunk = Math.max(1, this.options.maxUnitsPerMessage ?? 32);
    const topic = this.topics.topic(this.view.gatewayId, 'telemetry');
    for (let i = 0; i < meters.length; i += chunk) {
      const payload = encodeTelemetry(meters.slice(i, i + chunk).map((meter) => meter.read()));
      client.publish(topic, payload, { qos: 1 }, (error) => {
        if (error) this.noteError(error);
      });
    }
    return true;
  }

  private connect(): Promise<void> {
    if (this.client) return Promise.resolve();
    const gatewayId = this.view.gatewayId;
    const statusTopic = this.topics.topic(gatewayId, 'status');
    const clientOptions: IClientOptions = {
      clientId: this.options.clientId ?? `sim-${gatewayId}-${randomUUID().slice(0, 8)}`,
      clean: true,
      resubscribe: false,
      reconnectPeriod: this.options.reconnectPeriodMs ?? 1_000,
      connectTimeout: this.timeoutMs,
      keepalive: this.options.keepaliveS ?? 10,
      will: { topic: statusTopic, payload: Buffer.from(STATUS_OFFLINE), qos: 1, retain: true },
    };
    if (this.options.credentials) {
      clientOptions.username = this.options.credentials.username;
      clientOptions.password = this.options.credentials.password;
    }
    // With its own credential, never the user-info of a shared MQTT_URL (mqtt.js would prefer that).
    const client = connect(this.options.credentials ? withoutUserInfo(this.options.url) : this.options.url, clientOptions);
    this.client = client;
    this.ready = false;
    client.on('error', (error) => this.noteError(error));
    client.on('close', () => {
      if (client === this.client) this.ready = false;
    });
    client.on('message', (_topic, payload) => this.onCommand(client, payload));
    const firstReady = new Promise<void>((resolve) => {
      client.on('connect', () => {
        this.onConnect(client).then(resolve, (error: unknown) => {
          this.noteError(error);
          // Deaf to commands is worse than offline: drop and let mqtt.js reconnect.
          if (client === this.client) client.stream.destroy();
        });
      });
    });
    return withTimeout(firstReady, this.timeoutMs, `simulated gateway ${gatewayId} could not reach ${this.options.url}`);
  }

  private async onConnect(client: MqttClient): Promise<void> {
    const gatewayId = this.view.gatewayId;
    await withTimeout(client.subscribeAsync(this.topics.topic(gatewayId, 'command'), { qos: 1 }), this.timeoutMs, 'command subscription');
    await withTimeout(
      client.publishAsync(this.topics.topic(gatewayId, 'status'), STATUS_ONLINE, { qos: 1, retain: true }),
      this.timeoutMs,
      'online status',
    );
    if (client !== this.client) return;
    this.ready = true;
    this.publishTelemetry();
  }

  /** Abrupt, like a gateway losing power: the broker will publish the last will. */
  private dropConnection(): void {
    const client = this.client;
    this.client = undefined;
    this.ready = false;
    client?.end(true);
  }

  private onCommand(client: MqttClient, payload: Buffer): void {
    if (client !== this.client || !this.view.online) return;
    const decoded = decodeCommand(payload);
    if (!decoded.ok) {
      this.rejectedCommands++;
      return;
    }
    const ack = this.execute(decoded.value);
    client.publish(this.topics.topic(this.view.gatewayId, 'ack'), encodeAck(ack), { qos: 1 }, (error) => {
      if (error) this.noteError(error);
    });
  }

  private execute(command: CommandMessage): AckMessage {
    const meter: SimulatedMeterView | undefined = this.view.meter(command.unit);
    if (!meter) return { id: command.id, ok: false, error: `unknown unit ${command.unit}` };
    if (supplyState(meter.read(), command.target) === undefined) {
      return { id: command.id, ok: false, error: `${meter.profile} meter has no ${command.target}` };
    }
    try {
      meter.setSupply(command.target, command.action === 'restore');
    } catch (error) {
      return { id: command.id, ok: false, error: error instanceof Error ? error.message.slice(0, 200) : 'setSupply failed' };
    }
    const state = supplyState(meter.read(), command.target);
    return command.target === 'valve' ? { id: command.id, ok: true, valveOpen: state === true } : { id: command.id, ok: true, relayClosed: state === true };
  }

  private scheduleTick(): void {
    this.cancelTick = this.options.clock.schedule(Math.max(1, this.options.publishIntervalMs), () => {
      if (!this.started) return;
      this.publishTelemetry();
      this.scheduleTick();
    });
  }

  private noteError(error: unknown): void {
    this.lastError = error instanceof Error ? error : new Error(String(error));
  }
}
