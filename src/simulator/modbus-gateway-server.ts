import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { answerPdu, type UnknownUnitPolicy } from './modbus-gateway-pdu.ts';
import type { SimulatedGatewayView } from './simulated-gateway.ts';

export type { UnknownUnitPolicy } from './modbus-gateway-pdu.ts';

/**
 * How a dropped gateway looks from the network:
 *  - 'drop': open connections are closed and new ones closed on accept (a gateway that
 *    rebooted or lost its uplink; clients see resets and reconnect);
 *  - 'silent': connections stay up and requests go unanswered (a wedged gateway; clients
 *    see timeouts).
 */
export type OfflineBehaviour = 'drop' | 'silent';

export interface ModbusGatewayServerOptions {
  readonly gateway: SimulatedGatewayView;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: an ephemeral port, read it from `port` after start(). */
  readonly port?: number;
  /** Default 'exception' (0x0B at once). */
  readonly unknownUnit?: UnknownUnitPolicy;
  /** Default 'drop'. */
  readonly offlineBehaviour?: OfflineBehaviour;
}

const MBAP_BYTES = 7; // transaction id, protocol id, length, unit id
const MAX_MBAP_LENGTH = 254;

/**
 * A simulated gateway as a Modbus TCP server: unit id -> meter, registers encoded from
 * `meter.read()` by the meter's profile on every request, control writes turned into
 * `setSupply`. Written on `net` rather than modbus-serial's ServerTCP, which cannot bind an
 * ephemeral port (`port || 502`), answers through setTimeout(0), splits a 0x10 write into
 * single-register callbacks and has no way to stay silent for an unknown unit.
 * Requests on a connection are answered in order, synchronously.
 */
export class ModbusGatewayServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private unsubscribe: (() => void) | undefined;
  private boundPort: number | undefined;
  private served = 0;

  constructor(private readonly options: ModbusGatewayServerOptions) {}

  /** The bound TCP port; only after start(). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error('the Modbus gateway server is not started');
    return this.boundPort;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /** Requests answered (replies and exceptions) since start. */
  get requestsServed(): number {
    return this.served;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.options.port ?? 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      this.server = undefined;
      throw error;
    });
    server.on('error', () => undefined);
    this.boundPort = (server.address() as AddressInfo).port;
    this.unsubscribe = this.options.gateway.onOnlineChange((online) => {
      if (!online && this.offlineBehaviour === 'drop') this.dropConnections();
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.dropConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.boundPort = undefined;
  }

  private get offlineBehaviour(): OfflineBehaviour {
    return this.options.offlineBehaviour ?? 'drop';
  }

  private dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    if (!this.options.gateway.online && this.offlineBehaviour === 'drop') {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => this.sockets.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= MBAP_BYTES) {
        const protocolId = pending.readUInt16BE(2);
        const length = pending.readUInt16BE(4);
        if (protocolId !== 0 || length < 2 || length > MAX_MBAP_LENGTH) {
          socket.destroy(); // framing lost: a real gateway resets the connection
          return;
        }
        if (pending.length < 6 + length) return;
        const frame = pending.subarray(0, 6 + length);
        pending = pending.subarray(6 + length);
        this.answer(socket, frame);
      }
    });
  }

  private answer(socket: Socket, frame: Buffer): void {
    if (!this.options.gateway.online) return;
    const unitId = frame[6]!;
    const reply = answerPdu(this.options.gateway, unitId, frame.subarray(MBAP_BYTES), this.options.unknownUnit ?? 'exception');
    if (!reply) return;
    const out = Buffer.alloc(MBAP_BYTES + reply.length);
    frame.copy(out, 0, 0, 4); // transaction id, protocol id
    out.writeUInt16BE(1 + reply.length, 4);
    out[6] = unitId;
    reply.copy(out, MBAP_BYTES);
    this.served += 1;
    socket.write(out);
  }
}
