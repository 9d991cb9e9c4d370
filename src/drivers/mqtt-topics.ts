/**
 * MQTT topic layout (docs/mqtt.md): `<prefix>/<gatewayId>/<channel>`. The prefix defaults
 * to `campus` and may itself contain `/` (tests use a unique prefix per run so parallel
 * runs on one broker never see each other's retained messages).
 */
export type MqttChannel = 'telemetry' | 'command' | 'ack' | 'status';

export const DEFAULT_TOPIC_PREFIX = 'campus';

/** Gateway ids become a single topic level: no wildcards, no separators, no `$`. */
const GATEWAY_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isValidGatewayId(gatewayId: string): boolean {
  return GATEWAY_ID_PATTERN.test(gatewayId);
}

export function isValidTopicPrefix(prefix: string): boolean {
  return prefix.length > 0 && !/[+#\0]/.test(prefix) && !prefix.startsWith('$') && !prefix.endsWith('/') && !prefix.split('/').includes('');
}

export class MqttTopics {
  constructor(readonly prefix: string = DEFAULT_TOPIC_PREFIX) {
    if (!isValidTopicPrefix(prefix)) throw new RangeError(`invalid MQTT topic prefix: ${JSON.stringify(prefix)}`);
  }

  topic(gatewayId: string, channel: MqttChannel): string {
    if (!isValidGatewayId(gatewayId)) throw new RangeError(`invalid gateway id for MQTT: ${JSON.stringify(gatewayId)}`);
    return `${this.prefix}/${gatewayId}/${channel}`;
  }

  /** The wildcard subscription covering every gateway's `channel`. */
  wildcard(channel: MqttChannel): string {
    return `${this.prefix}/+/${channel}`;
  }

  /** Splits an incoming topic; undefined when it is not ours. */
  parse(topic: string): { gatewayId: string; channel: MqttChannel } | undefined {
    if (!topic.startsWith(`${this.prefix}/`)) return undefined;
    const rest = topic.slice(this.prefix.length + 1).split('/');
    if (rest.length !== 2) return undefined;
    const [gatewayId, channel] = rest as [string, string];
    if (!isValidGatewayId(gatewayId)) return undefined;
    switch (channel) {
      case 'telemetry':
      case 'command':
      case 'ack':
      case 'status':
        return { gatewayId, channel };
      default:
        return undefined;
    }
  }
}
