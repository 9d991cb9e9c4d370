import { connect, type Socket } from 'node:net';
import t from 'tap';
import { campus1in3outProfile } from '../../src/drivers/profiles/campus-1in3out.profile.ts';
import { sdm120Profile } from '../../src/drivers/profiles/sdm120.profile.ts';
import { ModbusGatewayServer, type ModbusGatewayServerOptions } from '../../src/simulator/modbus-gateway-server.ts';
import { FakeGateway, FakeMeter, acrelReading, campusReading, sdm120Reading, waterReading } from './fake-simulated-gateway.ts';

/** A raw Modbus TCP client: one request, one reply PDU (undefined: no reply in time or closed). */
class RawClient {
  private pending: Buffer = Buffer.alloc(0);
  private waiter: ((pdu: Buffer | undefined) => void) | undefined;
  private tid = 0;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      if (this.pending.length >= 6 && this.pending.length >= 6 + this.pending.readUInt16BE(4)) {
        const length = this.pending.readUInt16BE(4);
        const pdu = this.pending.subarray(7, 6 + length);
        this.pending = this.pending.subarray(6 + length);
        this.waiter?.(Buffer.from(pdu));
      }
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.(undefined);
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  request(unit: number, pdu: number[] | Buffer, timeoutMs = 300): Promise<Buffer | undefined> {
    const body = Buffer.from(pdu);
    const frame = Buffer.alloc(7 + body.length);
    frame.writeUInt16BE(++this.tid, 0);
    frame.writeUInt16BE(1 + body.length, 4);
    frame[6] = unit;
    body.copy(frame, 7);
    return this.send(frame, timeoutMs);
  }

  send(bytes: Buffer, timeoutMs = 300): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const done = (pdu: Buffer | undefined): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(pdu);
      };
      this.waiter = done;
      if (this.closed) return done(undefined);
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function read(fc: number, address: number, quantity: number): number[] {
  return [fc, address >> 8, address & 0xff, quantity >> 8, quantity & 0xff];
}

function words(pdu: Buffer | undefined): number[] {
  if (!pdu) return [];
  const out: number[] = [];
  for (let i = 2; i < pdu.length; i += 2) out.push(pdu.readUInt16BE(i));
  return out;
}

async function setup(t: { teardown(fn: () => unknown): unknown }, options: Partial<ModbusGatewayServerOptions> = {}) {
  const campus = new FakeMeter('1', 'campus-1in3out', campusReading('1'));
  const sdm = new FakeMeter('2', 'sdm120', sdm120Reading('2'));
  const acrel = new FakeMeter('3', 'acrel-ddsy1352', acrelReading('3'));
  const water = new FakeMeter('4', 'water-valve', waterReading('4'));
  const gateway = new FakeGateway('gw-1', [campus, sdm, acrel, water]);
  const server = new ModbusGatewayServer({ gateway, ...options });
  await server.start();
  const client = await RawClient.open(server.port);
  t.teardown(async () => {
    client.close();
    await server.stop();
  });
  return { campus, sdm, acrel, water, gateway, server, client };
}

t.test('binds an ephemeral port and serves each unit its profile image', async (t) => {
  const { server, client, campus, sdm } = await setup(t);
  t.ok(server.port > 0, `bound port ${server.port}`);
  const block = await client.request(1, read(0x03, 0, 56));
  t.equal(block?.[0], 0x03);
  t.equal(block?.[1], 112, 'byte count');
  t.strictSame(words(block), campus1in3outProfile.encode(campus.reading));
  t.strictSame(words(await client.request(1, read(0x03, 0x0022, 2))), campus1in3outProfile.encode(campus.reading).slice(0x22, 0x24), 'sub-range');
  t.strictSame(words(await client.request(2, read(0x04, 0, 2))), [0x4366, 0x0000], 'SDM120 voltage 230.0 V');
  t.strictSame(words(await client.request(2, read(0x04, 0x48, 2))), sdm120Profile.encode(sdm.reading).slice(0x48, 0x4a));
  t.strictSame(words(await client.request(3, read(0x03, 0x57, 2))), [1, 0], 'Acrel forced control pair');
  t.strictSame(words(await client.request(4, read(0x03, 0, 4))), [0, 54_321, 1, 1], 'water meter');
  t.equal(server.requestsServed, 6);
});

t.test('writes switch the meter; the state reads back', async (t) => {
  const { client, campus, acrel, water } = await setup(t);
  const write = [0x10, 0x00, 0x17, 0x00, 0x01, 0x02, 0x00, 0x00];
  t.strictSame([...((await client.request(1, write)) ?? [])], [0x10, 0x00, 0x17, 0x00, 0x01], '0x10 reply echoes address and count');
  t.strictSame(campus.supplyCalls, [{ target: 'lighting', closed: false }]);
  t.strictSame(words(await client.request(1, read(0x03, 0x16, 2))), [0, 0], 'relay state and control read 0');
  const single = [0x06, 0x00, 0x37, 0x00, 0x00];
  t.strictSame([...((await client.request(1, single)) ?? [])], single, '0x06 echoes');
  t.strictSame(campus.supplyCalls.at(-1), { target: 'ac', closed: false });

  await client.request(3, [0x10, 0x00, 0x57, 0x00, 0x02, 0x04, 0x00, 0x01, 0x00, 0x01]);
  t.strictSame(acrel.supplyCalls, [{ target: 'main', closed: false }]);
  t.strictSame(words(await client.request(3, read(0x03, 0x57, 2))), [1, 1]);

  await client.request(4, [0x06, 0x00, 0x03, 0x00, 0x00]);
  t.strictSame(water.supplyCalls, [{ target: 'valve', closed: false }], 'valve closed');
  t.strictSame(words(await client.request(4, read(0x03, 2, 2))), [0, 0]);
});

t.test('exceptions as a real device sends them', async (t) => {
  const { client, campus } = await setup(t);
  const ex = async (unit: number, pdu: number[]) => [...((await client.request(unit, pdu)) ?? [])];
  t.strictSame(await ex(1, read(0x03, 0x0038, 1)), [0x83, 0x02], 'outside the map: illegal data address');
  t.strictSame(await ex(1, read(0x03, 0, 126)), [0x83, 0x03], '126 registers: illegal data value');
  t.strictSame(await ex(1, read(0x04, 0, 1)), [0x84, 0x01], 'campus meter has no input registers');
  t.strictSame(await ex(2, read(0x03, 0, 2)), [0x83, 0x01], 'SDM120 via holding registers');
  t.strictSame(await ex(1, [0x06, 0x00, 0x16, 0x00, 0x01]), [0x86, 0x02], 'relay state is read-only');
  t.strictSame(await ex(1, [0x06, 0x00, 0x17, 0x00, 0x07]), [0x86, 0x03], 'relay control takes 0/1');
  t.strictSame(await ex(1, [0x10, 0x00, 0x17, 0x00, 0x02, 0x02, 0x00, 0x00]), [0x90, 0x03], 'byte count mismatch');
  t.strictSame(await ex(2, [0x06, 0x00, 0x00, 0x00, 0x01]), [0x86, 0x01], 'SDM120 is read-only');
  t.strictSame(await ex(1, [0x2b, 0x0e, 0x01, 0x00]), [0xab, 0x01], 'unsupported function');
  t.strictSame(await ex(99, read(0x03, 0, 1)), [0x83, 0x0b], 'unknown unit: gateway target failed to respond');
  campus.failReads = true;
  t.strictSame(await ex(1, read(0x03, 0, 1)), [0x83, 0x04], 'meter model failure: device failure');
  t.strictSame(campus.supplyCalls, [], 'refused writes switch nothing');
});

t.test('unknown unit can be configured silent', async (t) => {
  const { client } = await setup(t, { unknownUnit: 'silent' });
  t.equal(await client.request(99, read(0x03, 0, 1), 150), undefined);
  t.ok(await client.request(1, read(0x03, 0, 1)), 'known units still answer on the same connection');
});

t.test('offline (drop): connections are closed and refused until online again', async (t) => {
  const { server, client, gateway } = await setup(t);
  t.ok(await client.request(1, read(0x03, 0, 1)));
  gateway.setOnline(false);
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(client.closed, 'open connection dropped');
  const late = await RawClient.open(server.port);
  t.equal(await late.request(1, read(0x03, 0, 1), 150), undefined, 'a new connection gets no answer');
  t.ok(late.closed, 'and is closed on accept');
  gateway.setOnline(true);
  const again = await RawClient.open(server.port);
  t.ok(await again.request(1, read(0x03, 0, 1)), 'answers after coming back');
  again.close();
});

t.test('offline (silent): connections stay up, nothing is answered', async (t) => {
  const { client, gateway } = await setup(t, { offlineBehaviour: 'silent' });
  gateway.setOnline(false);
  t.equal(await client.request(1, read(0x03, 0, 1), 150), undefined);
  t.notOk(client.closed);
  gateway.setOnline(true);
  t.ok(await client.request(1, read(0x03, 0, 1)));
});

t.test('lost framing closes the connection; pipelined requests are answered in order', async (t) => {
  const { client, server } = await setup(t);
  const two = Buffer.concat([
    Buffer.from([0, 7, 0, 0, 0, 6, 1, ...read(0x03, 2, 1)]),
    Buffer.from([0, 8, 0, 0, 0, 6, 1, ...read(0x03, 3, 1)]),
  ]);
  const other = await RawClient.open(server.port);
  const first = await other.send(two);
  t.equal(first?.readUInt16BE(2), 2301, 'first reply is the first request');
  other.close();
  t.equal(await client.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'), 150), undefined);
  t.ok(client.closed, 'garbage closes the connection');
});

t.test('start/stop are idempotent; port is unavailable before start', async (t) => {
  const server = new ModbusGatewayServer({ gateway: new FakeGateway('gw', []) });
  t.throws(() => server.port, /not started/);
  await server.start();
  await server.start();
  await server.stop();
  await server.stop();
  t.throws(() => server.port);
});
