import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ScriptedRequest {
  /** 0-based, across all connections. */
  readonly index: number;
  readonly connection: number;
  readonly transactionId: number;
  readonly unitId: number;
  readonly pdu: Buffer;
}

/** Bytes to send back (raw, MBAP included), or undefined to stay silent. */
export type Script = (request: ScriptedRequest) => Buffer | undefined;

/**
 * A raw TCP server that speaks just enough Modbus TCP to read requests, and answers
 * whatever the test's script says: garbage, wrong lengths, NaN floats. Also records how
 * many requests were outstanding at once on a connection (pipelining check).
 */
export class ScriptedModbusServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private requestCount = 0;
  private connectionCount = 0;
  maxOutstanding = 0;

  constructor(
    private readonly script: Script,
    private readonly replyDelayMs = 0,
  ) {}

  get requests(): number {
    return this.requestCount;
  }

  get connections(): number {
    return this.connectionCount;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private accept(socket: Socket): void {
    const connection = this.connectionCount++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending: Buffer = Buffer.alloc(0);
    let outstanding = 0;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 7 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const length = pending.readUInt16BE(4);
        const request: ScriptedRequest = {
          index: this.requestCount++,
          connection,
          transactionId: pending.readUInt16BE(0),
          unitId: pending[6]!,
          pdu: Buffer.from(pending.subarray(7, 6 + length)),
        };
        pending = pending.subarray(6 + length);
        outstanding += 1;
        this.maxOutstanding = Math.max(this.maxOutstanding, outstanding);
        const reply = this.script(request);
        const send = (): void => {
          outstanding -= 1;
          if (reply && !socket.destroyed) socket.write(reply);
        };
        if (this.replyDelayMs > 0) setTimeout(send, this.replyDelayMs);
        else send();
      }
    });
  }
}

/** A complete MBAP frame: transaction id, protocol 0, length, unit, PDU. */
export function mbap(transactionId: number, unitId: number, pdu: Buffer | number[]): Buffer {
  const body = Buffer.from(pdu);
  const frame = Buffer.alloc(7 + body.length);
  frame.writeUInt16BE(transactionId, 0);
  frame.writeUInt16BE(1 + body.length, 4);
  frame[6] = unitId;
  body.copy(frame, 7);
  return frame;
}

/** A read reply PDU (function, byte count, words). */
export function readReply(functionCode: number, words: readonly number[]): Buffer {
  const pdu = Buffer.alloc(2 + 2 * words.length);
  pdu[0] = functionCode;
  pdu[1] = 2 * words.length;
  words.forEach((word, i) => pdu.writeUInt16BE(word, 2 + 2 * i));
  return pdu;
}
