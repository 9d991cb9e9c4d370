import { Socket } from 'node:net';
import modbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import type { RegisterBlock } from './profiles/index.ts';
import { ModbusFrameGuard } from './modbus-frame-guard.ts';
import { ConnectionLostError, MalformedReplyError } from './modbus-request-failure.ts';

export interface ModbusConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  /** Set on the modbus-serial client: every request fails after this long without reply. */
  readonly requestTimeoutMs: number;
  /** Aborting gives up a connection attempt in progress. */
  readonly signal: AbortSignal;
  /** Bytes that cannot be Modbus TCP arrived; the connection is being dropped. */
  readonly onMalformedFrame: (reason: string) => void;
  /** The socket closed (either side); called once. */
  readonly onClose: () => void;
}

/**
 * modbus-serial is CommonJS (`module.exports = ModbusRTU`) but its typings declare an ES
 * default export, which NodeNext resolution reads as the module object: the runtime value
 * is the class.
 */
const ModbusClient = modbusSerial as unknown as typeof ModbusRTU;
type Client = ModbusRTU;

/**
 * One Modbus TCP connection: our own socket (so connect has a deadline and the raw bytes
 * can be guarded) linked to a modbus-serial client. The caller sends one request at a time;
 * modbus-serial mismatches pipelined replies (modbus-serial#264).
 */
export class ModbusConnection {
  private closedFlag = false;
  private readonly closed: Promise<never>;

  private constructor(
    private readonly socket: Socket,
    private readonly client: Client,
  ) {
    this.closed = new Promise<never>((_, reject) => {
      socket.once('close', () => reject(new ConnectionLostError('connection closed')));
    });
    this.closed.catch(() => undefined);
  }

  static async open(options: ModbusConnectionOptions): Promise<ModbusConnection> {
    const socket = await connectSocket(options);
    const guard = new ModbusFrameGuard((reason) => {
      options.onMalformedFrame(reason);
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => guard.push(chunk));
    socket.on('error', () => undefined); // 'close' follows and is what we act on
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);

    const client: Client = new ModbusClient();
    client.on('error', () => undefined);
    const connection = new ModbusConnection(socket, client);
    socket.once('close', () => {
      connection.closedFlag = true;
      options.onClose();
    });
    await client.linkTCP(socket, { port: options.port });
    // After linking: set before, modbus-serial would also put an idle timeout on the socket.
    client.setTimeout(options.requestTimeoutMs);
    return connection;
  }

  get isOpen(): boolean {
    return !this.closedFlag;
  }

  /** Function 0x03 / 0x04; resolves with exactly `block.length` words. */
  readBlock(unitId: number, block: RegisterBlock): Promise<number[]> {
    return this.request<number[]>((done) => {
      const read = block.functionCode === 0x03 ? this.client.writeFC3 : this.client.writeFC4;
      read.call(this.client, unitId, block.address, block.length, (err, result) => {
        done(err, err ? undefined : result.data);
      });
    });
  }

  /** Function 0x10; checks the reply echoes the address and count. */
  writeRegisters(unitId: number, address: number, values: readonly number[]): Promise<void> {
    return this.request<void>((done) => {
      this.client.writeFC16(unitId, address, [...values], (err, result) => {
        if (err) return done(err);
        if (result.address !== address || result.length !== values.length) {
          return done(new MalformedReplyError(`write echo ${result.address}/${result.length}, sent ${address}/${values.length}`));
        }
        done(null);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private request<T>(start: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.closedFlag) return Promise.reject(new ConnectionLostError('not connected'));
    const reply = new Promise<T>((resolve, reject) => {
      try {
        start((err, value) => (err ? reject(err) : resolve(value as T)));
      } catch (error) {
        reject(error instanceof Error ? error : new MalformedReplyError(String(error)));
      }
    });
    // A request still pending when the socket closes is answered by 'closed' at once,
    // instead of waiting for modbus-serial's timeout.
    return Promise.race([reply, this.closed]);
  }
}

function connectSocket(options: ModbusConnectionOptions): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = new Socket();
    const fail = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(error);
    const onTimeout = (): void =>
      fail(new Error(`connect to ${options.host}:${options.port} timed out after ${options.connectTimeoutMs} ms`));
    const onClose = (): void => fail(new ConnectionLostError('closed while connecting'));
    const onAbort = (): void => fail(new ConnectionLostError('connect aborted'));
    const onConnect = (): void => {
      cleanup();
      socket.setTimeout(0);
      resolve(socket);
    };
    const cleanup = (): void => {
      socket.off('error', onError).off('timeout', onTimeout).off('close', onClose).off('connect', onConnect);
      options.signal.removeEventListener('abort', onAbort);
    };
    if (options.signal.aborted) return reject(new ConnectionLostError('connect aborted'));
    socket.once('error', onError).once('timeout', onTimeout).once('close', onClose).once('connect', onConnect);
    options.signal.addEventListener('abort', onAbort);
    // The socket's own inactivity timer is the connect deadline.
    socket.setTimeout(options.connectTimeoutMs);
    socket.connect({ host: options.host, port: options.port });
  });
}
