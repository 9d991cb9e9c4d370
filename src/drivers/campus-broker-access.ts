import { randomBytes, timingSafeEqual } from 'node:crypto';
import { TopicAcl, type BrokerAccess, type BrokerPrincipal } from './broker-access.ts';
import { isValidGatewayId, type MqttTopics } from './mqtt-topics.ts';

/** A username/password pair for an MQTT CONNECT. */
export interface BrokerCredentials {
  readonly username: string;
  readonly password: string;
}

/** Contains `/`, so it can never be a gateway id (a gateway's username is its id). */
export const SERVER_BROKER_USERNAME = 'campus-prepaid/server';

/** The server's own credential on the embedded broker: made at boot, held in memory only, never logged. */
export function newServerBrokerCredentials(): BrokerCredentials {
  return { username: SERVER_BROKER_USERNAME, password: randomBytes(32).toString('base64url') };
}

/**
 * The embedded broker's access policy: the server by its boot-time credential, a gateway by
 * its id and the secret issued over REST (checked by `gatewaySecretValid`, a database
 * lookup), topics by `TopicAcl`.
 */
export class CampusBrokerAccess implements BrokerAccess {
  private readonly acl: TopicAcl;

  constructor(
    topics: MqttTopics,
    private readonly server: BrokerCredentials,
    private readonly gatewaySecretValid: (gatewayId: string, secret: string) => Promise<boolean>,
  ) {
    this.acl = new TopicAcl(topics);
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<BrokerPrincipal | undefined> {
    if (username === undefined || password === undefined) return undefined;
    if (username === this.server.username) return sameBytes(password, Buffer.from(this.server.password, 'utf8')) ? { kind: 'server' } : undefined;
    if (!isValidGatewayId(username)) return undefined;
    return (await this.gatewaySecretValid(username, password.toString('utf8'))) ? { kind: 'gateway', gatewayId: username } : undefined;
  }

  mayPublish(principal: BrokerPrincipal, topic: string): boolean {
    return this.acl.mayPublish(principal, topic);
  }

  maySubscribe(principal: BrokerPrincipal, topicFilter: string): boolean {
    return this.acl.maySubscribe(principal, topicFilter);
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
