import { randomUUID } from 'node:crypto';
import { connect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { InboundQueue } from './inbound-queue.ts';
import { DEFAULT_TELEMETRY_LIMITS } from './mqtt-payload.ts';
import type { TelemetryLimits } from './mqtt-payload.ts';
import { MqttTopics } from './mqtt-topics.ts';
import type { MqttChannel } from './mqtt-topics.ts';

/**
 * One mqtt.js client per node, shared by every MQTT gateway driver on that node.
 *
 * Why one connection: a node owns thousands of gateways; a client per gateway would cost a
 * socket, a keepalive and a session each on both sides. Instead the connection subscribes
 * once (`<prefix>/+/telemetry|ack|status`, QoS 1) and routes each message by the gateway
 * id in its topic to the registered `MqttGatewayRoute` (an `MqttGatewayDriver`). Messages
 * for gateways nobody registered are counted in `unroutedMessages` and dropped.
 *
 * With several nodes on one broker, use `subscription: 'per-gateway'`: the connection then
 * subscribes only to the topics of registered gateways (the node's leased set). MQTT shared
 * subscriptions (`$share/...`) are not used: they balance per message, not per gateway, so
 * one gateway's readings would be scattered across nodes.
 *
 * Reconnection is ours, not mqtt.js's (its `reconnectPeriod` is a fixed interval):
 * exponential backoff with jitter between `reconnectMinMs` and `reconnectMaxMs`, and the
 * subscriptions are renewed after every CONNACK (clean session: nothing is queued for us
 * while we are away, and we never publish commands into mqtt.js's offline queue).
 */

/** What a gateway driver registers to receive its gateway's messages. Must not throw. */
export interface MqttGatewayRoute {
  /** `receivedAtNs`: when the message reached the node (`process.hrtime.bigint()`), before it waited for its turn. */
  telemetry(payload: Buffer, receivedAtNs: bigint): void;
  ack(payload: Buffer): void;
  status(payload: Buffer): void;
  /** The node lost the broker: nothing from this gateway can be heard until reconnect. */
  connectionLost(): void;
}

/** Minimal logger shape (a pino logger fits). */
export interface DriverLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export const SILENT_LOGGER: DriverLogger = Object.freeze({ info: () => {}, warn: () => {} });

export interface MqttConnectionOptions {
  /** `mqtt://host:port` (or mqtts://, ws://). */
  readonly url: string;
  /** Default `campus-prepaid-<random>`; must be unique per node on the broker. */
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  /** Default `campus` (docs/mqtt.md). */
  readonly topicPrefix?: string;
  /** Default `wildcard` (one node per broker); `per-gateway` for several nodes. */
  readonly subscription?: 'wildcard' | 'per-gateway';
  /** CONNACK deadline per attempt, and the deadline of `start()`. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** SUBACK / UNSUBACK / graceful-disconnect deadline. Default 5 000. */
  readonly requestTimeoutMs?: number;
  /** Reconnect backoff bounds. Defaults 500 and 30 000. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** MQTT keepalive, seconds. Default 30. */
  readonly keepaliveS?: number;
  /** Telemetry decode limits used by the drivers on this connection. */
  readonly telemetryLimits?: Partial<TelemetryLimits>;
  readonly logger?: DriverLogger;
  /** Telemetry messages waiting for their turn at most (`InboundQueue`); beyond, new ones are shed. Default 2,000. */
  readonly maxQueuedTelemetry?: number;
  /** Told of each telemetry message shed because the queue was full (a metric). */
  readonly onTelemetryShed?: () => void;
}

/** Rejects with `Error(message)` if `promise` has not settled within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${message} (timed out after ${timeoutMs} ms)`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Exponential backoff with "equal jitter": half fixed, half random. */
export function backoffDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const ROUTED_CHANNELS: readonly MqttChannel[] = ['telemetry', 'ack', 'status'];
/** Gateways whose last status is remembered (see `lastStatus`); the oldest is forgotten beyond. */
const MAX_REMEMBERED_STATUSES = 10_000;

export class MqttConnection {
  readonly topics: MqttTopics;
  readonly telemetryLimits: TelemetryLimits;
  /** Messages on our topics for gateways no driver registered (another node's, or removed). */
  unroutedMessages = 0;

  private readonly routes = new Map<string, MqttGatewayRoute>();
  /**
   * The last `status` payload per gateway id, routed or not, while connected. Statuses are
   * retained: the broker hands them over once, right after SUBACK, which is usually before
   * the drivers register (the wildcard subscription is made at connect) or before a gateway
   * is added through the API. `register` replays the remembered one to the new route.
   */
  private readonly lastStatus = new Map<string, Buffer>();
  /** Every message and loss for the routes, delivered in order a few ms per turn (src/drivers/inbound-queue.ts). */
  private readonly inbound: InboundQueue;
  private readonly logger: DriverLogger;
  private client: MqttClient | undefined;
  private subscribed = false;
  private stopping = false;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private firstConnect: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly options: MqttConnectionOptions) {
    this.topics = new MqttTopics(options.topicPrefix);
    this.telemetryLimits = { ...DEFAULT_TELEMETRY_LIMITS, ...options.telemetryLimits };
    this.logger = options.logger ?? SILENT_LOGGER;
    this.inbound = new InboundQueue({
      ...(options.maxQueuedTelemetry === undefined ? {} : { maxSheddable: options.maxQueuedTelemetry }),
      ...(options.onTelemetryShed ? { onShed: options.onTelemetryShed } : {}),
    });
  }

  /** Telemetry messages dropped because too many waited for their turn (`maxQueuedTelemetry`). */
  get telemetryShed(): number {
    return this.inbound.shed;
  }

  /** Connected and subscribed: messages flow and commands can be published. */
  get connected(): boolean {
    return this.client?.connected === true && this.subscribed;
  }

  private get perGateway(): boolean {
    return this.options.subscription === 'per-gateway';
  }

  private get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? 10_000;
  }

  private get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs ?? 5_000;
  }

  /**
   * Connects and subscribes. Resolves once the first CONNACK and SUBACK arrived; rejects
   * (and closes everything) if that has not happened within `connectTimeoutMs`, retrying
   * with backoff meanwhile. Once started, later disconnections are retried forever.
   */
  async start(): Promise<void> {
    if (this.client) return;
    this.stopping = false;
    const ready = new Promise<void>((resolve, reject) => {
      this.firstConnect = { resolve, reject };
    });
    const clientOptions: IClientOptions = {
      clientId: this.options.clientId ?? `campus-prepaid-${randomUUID()}`,
      clean: true,
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: this.connectTimeoutMs,
      keepalive: this.options.keepaliveS ?? 30,
      subscribeBatchSize: 300,
    };
    if (this.options.username !== undefined) clientOptions.username = this.options.username;
    if (this.options.password !== undefined) clientOptions.password = this.options.password;
    const client = connect(this.options.url, clientOptions);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => this.onClose(client));
    client.on('error', (error) => this.logger.warn({ err: error, url: this.options.url }, 'mqtt connection error'));
    client.on('message', (topic, payload) => this.route(topic, payload));
    try {
      await withTimeout(ready, this.connectTimeoutMs, `MQTT broker ${this.options.url} not reachable`);
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      this.firstConnect = undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    const wasUp = this.subscribed;
    this.client = undefined;
    this.subscribed = false;
    this.lastStatus.clear();
    this.inbound.clear(); // stopping: what still waited is not delivered
    if (!client) return;
    if (wasUp) for (const route of this.routes.values()) this.safely(() => route.connectionLost());
    if (client.connected) {
      try {
        await withTimeout(client.endAsync(false), this.requestTimeoutMs, 'MQTT disconnect');
        return;
      } catch (error) {
        this.logger.warn({ err: error }, 'mqtt graceful disconnect failed; closing the socket');
      }
    }
    client.end(true);
  }

  /**
   * Routes `gatewayId`'s telemetry, acks and status to `route`. Returns the function that
   * removes the route. One route per gateway id: registering twice is a programming error.
   */
  register(gatewayId: string, route: MqttGatewayRoute): () => void {
    for (const channel of ROUTED_CHANNELS) this.topics.topic(gatewayId, channel); // validates the id
    if (this.routes.has(gatewayId)) throw new Error(`MQTT gateway ${gatewayId} is already registered on this connection`);
    this.routes.set(gatewayId, route);
    const status = this.lastStatus.get(gatewayId);
    if (status) {
      queueMicrotask(() => {
        if (this.routes.get(gatewayId) === route) this.safely(() => route.status(status));
      });
    }
    // After CONNACK, not only after SUBACK: onConnect computed its topic list at CONNACK.
    if (this.perGateway && this.client?.connected) this.subscribeGateways([gatewayId]);
    return () => {
      if (this.routes.get(gatewayId) !== route) return;
      this.routes.delete(gatewayId);
      const client = this.client;
      if (this.perGateway && client?.connected) {
        const topics = ROUTED_CHANNELS.map((channel) => this.topics.topic(gatewayId, channel));
        withTimeout(client.unsubscribeAsync(topics), this.requestTimeoutMs, 'MQTT unsubscribe').catch((error: unknown) =>
          this.logger.warn({ err: error, gatewayId }, 'mqtt unsubscribe failed'),
        );
      }
    };
  }

  /**
   * Publishes a command (QoS 1) to `gatewayId`. Returns false, publishing nothing, while
   * disconnected: a command must never sit in a queue and reach a meter minutes later.
   */
  publishCommand(gatewayId: string, payload: string): boolean {
    const client = this.client;
    if (!client || !this.connected) return false;
    client.publish(this.topics.topic(gatewayId, 'command'), payload, { qos: 1 }, (error) => {
      if (error) this.logger.warn({ err: error, gatewayId }, 'mqtt command publish failed');
    });
    return true;
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client) return;
    this.reconnectAttempt = 0;
    this.subscribed = false;
    const topics = this.perGateway
      ? [...this.routes.keys()].flatMap((id) => ROUTED_CHANNELS.map((channel) => this.topics.topic(id, channel)))
      : ROUTED_CHANNELS.map((channel) => this.topics.wildcard(channel));
    const subscription = topics.length === 0 ? Promise.resolve([]) : client.subscribeAsync(topics, { qos: 1 });
    withTimeout(subscription, this.requestTimeoutMs, 'MQTT subscribe')
      .then((granted) => {
        const refused = granted.filter((grant) => grant.qos === 128);
        if (refused.length > 0) throw new Error(`broker refused subscriptions: ${refused.map((grant) => grant.topic).join(', ')}`);
        if (client !== this.client) return;
        this.subscribed = true;
        this.logger.info({ url: this.options.url, topics: topics.length }, 'mqtt connected');
        this.firstConnect?.resolve();
      })
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'mqtt subscribe failed; reconnecting');
        if (client === this.client) client.stream.destroy();
      });
  }

  private subscribeGateways(gatewayIds: readonly string[]): void {
    const client = this.client;
    if (!client) return;
    const topics = gatewayIds.flatMap((id) => ROUTED_CHANNELS.map((channel) => this.topics.topic(id, channel)));
    withTimeout(client.subscribeAsync(topics, { qos: 1 }), this.requestTimeoutMs, 'MQTT subscribe').catch((error: unknown) => {
      this.logger.warn({ err: error, gatewayIds }, 'mqtt subscribe failed; reconnecting');
      if (client === this.client) client.stream.destroy();
    });
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    const wasUp = this.subscribed;
    this.subscribed = false;
    this.lastStatus.clear(); // re-delivered (retained) after the next SUBACK
    if (wasUp) {
      this.logger.warn({ url: this.options.url }, 'mqtt connection lost');
      // After the messages that arrived before the loss, in order.
      for (const [gatewayId, route] of this.routes) {
        this.inbound.push({ sheddable: false, deliver: () => this.routes.get(gatewayId) === route && this.safely(() => route.connectionLost()) });
      }
    }
    if (this.stopping || this.reconnectTimer) return;
    const delayMs = backoffDelayMs(this.reconnectAttempt++, this.options.reconnectMinMs ?? 500, this.options.reconnectMaxMs ?? 30_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping && client === this.client) client.reconnect();
    }, delayMs);
  }

  private route(topic: string, payload: Buffer): void {
    const parsed = this.topics.parse(topic);
    if (parsed?.channel === 'status') this.rememberStatus(parsed.gatewayId, payload);
    const route = parsed && this.routes.get(parsed.gatewayId);
    if (!parsed || !route) {
      this.unroutedMessages++;
      return;
    }
    const gatewayId = parsed.gatewayId;
    // Delivered in its turn (src/drivers/inbound-queue.ts), to the route still registered then.
    const deliver = (handle: (route: MqttGatewayRoute) => void) => () => {
      if (this.routes.get(gatewayId) === route) this.safely(() => handle(route));
    };
    switch (parsed.channel) {
      case 'telemetry': {
        const receivedAtNs = process.hrtime.bigint();
        this.inbound.push({ sheddable: true, deliver: deliver((r) => r.telemetry(payload, receivedAtNs)) });
        return;
      }
        return;
      case 'ack':
        this.inbound.push({ sheddable: false, deliver: deliver((r) => r.ack(payload)) });
        return;
      case 'status':
        this.inbound.push({ sheddable: false, deliver: deliver((r) => r.status(payload)) });
        return;
      case 'command':
        this.unroutedMessages++;
        return;
    }
  }

  private rememberStatus(gatewayId: string, payload: Buffer): void {
    this.lastStatus.delete(gatewayId); // re-inserted last: the map stays in arrival order
    if (this.lastStatus.size >= MAX_REMEMBERED_STATUSES) this.lastStatus.delete(this.lastStatus.keys().next().value!);
    this.lastStatus.set(gatewayId, payload);
  }

  /** A throwing listener must not take the shared connection (and every gateway) down. */
  private safely(deliver: () => void): void {
    try {
      deliver();
    } catch (error) {
      this.logger.warn({ err: error }, 'mqtt route handler threw');
    }
  }
}
