import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Aedes } from 'aedes';
import { withTimeout } from './mqtt-connection.ts';

/**
 * An in-process MQTT broker (aedes, in-memory: retained messages and wills work, nothing
 * survives a restart) for tests and for `npm start` when MQTT_URL is unset. Binds
 * 127.0.0.1 on an ephemeral port by default, since 1883 may already be taken.
 */
export interface EmbeddedBrokerOptions {
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

  constructor(private readonly options: EmbeddedBrokerOptions = {}) {}

  /** `mqtt://host:port` while started. */
  get url(): string | undefined {
    return this.address;
  }

  async start(): Promise<{ url: string }> {
    if (this.address) return { url: this.address };
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    const host = this.options.host ?? '127.0.0.1';
    const broker = await withTimeout(Aedes.createBroker(), timeoutMs, 'embedded MQTT broker start');
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
    if (server?.listening) {
      await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), timeoutMs, 'embedded MQTT broker server close');
    }
  }
}
