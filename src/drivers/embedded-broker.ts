import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { AuthenticateError, Client } from 'aedes';
import type { BrokerAccess, BrokerPrincipal } from './broker-access.ts';
import { withTimeout } from './mqtt-connection.ts';

/**
 * An in-process MQTT broker (aedes, in-memory: retained messages and wills work, nothing
 * survives a restart) for tests and for `npm start` when MQTT_URL is unset. Binds
 * 127.0.0.1 on an ephemeral port by default, since 1883 may already be taken.
 *
 * It has no anonymous mode: every CONNECT is authenticated by `access`, and every publish
 * (a last will included) and subscription is checked against it. A refused publish drops the
 * client; a refused subscription is answered 0x80.
 */
export interface EmbeddedBrokerOptions {
  /** Who may connect and what each principal may touch. */
  readonly access: BrokerAccess;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (ephemeral). */
  readonly port?: number;
  /** Deadline for listen and close. Default 5 000. */
  readonly timeoutMs?: number;
}

export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private address: string | undefined;
  /** Principals of authenticated clients (set before CONNACK). */
  private readonly principals = new WeakMap<Client, BrokerPrincipal>();
  /** Clients past CONNACK, for `disconnectGateway`. */
  private readonly connected = new Set<Client>();
  /** Counts `disconnectGateway` calls; per gateway, the count at its last one. */
  private disconnects = 0;
  private readonly disconnectedAt = new Map<string, number>();

  constructor(private readonly options: EmbeddedBrokerOptions) {}

  /** `mqtt://host:port` while started. */
  get url(): string | undefined {
    return this.address;
  }

  async start(): Promise<{ url: string }> {
    if (this.address) return { url: this.address };
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    const host = this.options.host ?? '127.0.0.1';
    const { access } = this.options;
    const broker = await withTimeout(
      Aedes.createBroker({
        authenticate: (client, username, password, done) => {
          const startedAt = this.disconnects;
          access.authenticate(username, password).then(
            (principal) => {
              // A credential revoked while its check was in flight: the check read the old row.
              const revokedMeanwhile = principal?.kind === 'gateway' && (this.disconnectedAt.get(principal.gatewayId) ?? -1) >= startedAt;
              if (!principal || revokedMeanwhile) return done(Object.assign(new Error('bad username or password'), { returnCode: 4 }) as AuthenticateError, false);
              this.principals.set(client, principal);
              done(null, true);
            },
            () => done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as AuthenticateError, false),
          );
        },
        authorizePublish: (client, packet, callback) => {
          const principal = client ? this.principals.get(client) : undefined;
          // client null: the broker's own publishes ($SYS), which nobody subscribes to here.
          if (client && (!principal || !access.mayPublish(principal, packet.topic))) return callback(new Error(`publish to ${packet.topic} not allowed`));
          callback(null);
        },
        authorizeSubscribe: (client, subscription, callback) => {
          const principal = this.principals.get(client);
          callback(null, principal && access.maySubscribe(principal, subscription.topic) ? subscription : null);
        },
      }),
      timeoutMs,
      'embedded MQTT broker start',
    );
    broker.on('client', (client) => this.connected.add(client));
    broker.on('clientDisconnect', (client) => this.connected.delete(client));
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    this.broker = broker;
    this.server = server;
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.options.port ?? 0, host, () => {
            server.off('error', reject);
            resolve();
          });
        }),
        timeoutMs,
        `embedded MQTT broker listen on ${host}`,
      );
    } catch (error) {
      await this.stop();
      throw error;
    }
    const { port } = server.address() as AddressInfo;
    this.address = `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return { url: this.address };
  }

  /** Drops every connection of `gatewayId` (its credential was revoked). Returns how many. */
  disconnectGateway(gatewayId: string): number {
    this.disconnectedAt.set(gatewayId, this.disconnects++);
    let dropped = 0;
    for (const client of this.connected) {
      const principal = this.principals.get(client);
      if (principal?.kind !== 'gateway' || principal.gatewayId !== gatewayId) continue;
      this.connected.delete(client);
      client.close();
      dropped++;
    }
    return dropped;
  }

  async stop(): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    const broker = this.broker;
    const server = this.server;
    this.broker = undefined;
    this.server = undefined;
    this.address = undefined;
    if (broker) await withTimeout(new Promise<void>((resolve) => broker.close(() => resolve())), timeoutMs, 'embedded MQTT broker close');
    // Clients the broker did not close (half-open handshakes) would keep server.close waiting.
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.connected.clear();
    if (server?.listening) {
      await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), timeoutMs, 'embedded MQTT broker server close');
    }
  }
}
