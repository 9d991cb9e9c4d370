import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP forwarder between the app and a real server, to stage a network fault: `down()` cuts
 * every open connection and resets new ones (as a database restart or a failover does),
 * `up()` forwards again; `stall()` keeps every connection open and accepts new ones but holds
 * their bytes (a database that hangs: no error, no answer), `unstall()` delivers what it held.
 */
export interface TcpProxy {
  readonly port: number;
  down(): void;
  up(): void;
  stall(): void;
  unstall(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let isUp = true;
  let stalled = false;
  const held: { to: Socket; chunk: Buffer }[] = [];
  const forward = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (stalled) held.push({ to, chunk });
      else to.write(chunk);
    });
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (!isUp) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    forward(client, upstream);
    forward(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    down() {
      isUp = false;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    up() {
      isUp = true;
    },
    stall() {
      stalled = true;
    },
    unstall() {
      stalled = false;
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
