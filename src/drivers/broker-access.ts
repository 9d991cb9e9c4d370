import type { MqttTopics } from './mqtt-topics.ts';

/**
 * Who a broker client is, once authenticated, and which topics it may touch (docs/mqtt.md,
 * "Credentials and ACLs"). Only known publishers: a gateway publishes its own `telemetry`,
 * `ack` and `status` and subscribes to its own `command`; the server publishes `command` to
 * any gateway and subscribes to the other three channels (by wildcard or per gateway).
 * Anything else is refused: the broker drops the publishing client, and a refused
 * subscription is answered with failure (0x80).
 */
export type BrokerPrincipal = { readonly kind: 'server' } | { readonly kind: 'gateway'; readonly gatewayId: string };

/** What an embedded broker asks of its owner: who is connecting, and what may it do. */
export interface BrokerAccess {
  /** The principal, or undefined to refuse the CONNECT (bad username or password). Must not throw. */
  authenticate(username: string | undefined, password: Buffer | undefined): Promise<BrokerPrincipal | undefined>;
  mayPublish(principal: BrokerPrincipal, topic: string): boolean;
  maySubscribe(principal: BrokerPrincipal, topicFilter: string): boolean;
}

const SERVER_SUBSCRIBES = new Set(['telemetry', 'ack', 'status']);

/** The topic ACL over `topics`' layout: pure, the same rules the Mosquitto template states. */
export class TopicAcl {
  constructor(private readonly topics: MqttTopics) {}

  mayPublish(principal: BrokerPrincipal, topic: string): boolean {
    const parsed = this.topics.parse(topic);
    if (!parsed) return false;
    if (principal.kind === 'server') return parsed.channel === 'command';
    return parsed.gatewayId === principal.gatewayId && parsed.channel !== 'command';
  }

  maySubscribe(principal: BrokerPrincipal, topicFilter: string): boolean {
    if (principal.kind === 'gateway') return topicFilter === this.topics.topic(principal.gatewayId, 'command');
    const prefix = `${this.topics.prefix}/`;
    if (!topicFilter.startsWith(prefix)) return false;
    const rest = topicFilter.slice(prefix.length).split('/');
    if (rest.length !== 2) return false;
    const [gatewayId, channel] = rest as [string, string];
    if (!SERVER_SUBSCRIBES.has(channel)) return false;
    return gatewayId === '+' || this.topics.parse(topicFilter)?.gatewayId === gatewayId;
  }
}
