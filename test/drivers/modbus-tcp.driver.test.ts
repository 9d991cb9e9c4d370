import { createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import type { MeterEndpoint } from '../../src/drivers/gateway-driver.ts';
import { ModbusTcpDriver, type ModbusTcpDriverOptions } from '../../src/drivers/modbus-tcp.driver.ts';
import { sdm120Profile } from '../../src/drivers/profiles/sdm120.profile.ts';
import { campus1in3outProfile } from '../../src/drivers/profiles/campus-1in3out.profile.ts';
import { ModbusGatewayServer, type ModbusGatewayServerOptions } from '../../src/simulator/modbus-gateway-server.ts';
import { AT, FakeGateway, FakeMeter, acrelReading, campusReading, sdm120Reading, waterReading } from '../simulator/fake-simulated-gateway.ts';
import { RecordingListener } from './recording-listener.ts';
import { ScriptedModbusServer, mbap, readReply } from './scripted-modbus-server.ts';

type Host = { teardown(fn: () => unknown): unknown };

const FAST: Partial<ModbusTcpDriverOptions> = {
  pollIntervalMs: 50,
  requestTimeoutMs: 120,
  connectTimeoutMs: 500,
  reconnectMinDelayMs: 20,
  reconnectMaxDelayMs: 200,
  commandRetryDelayMs: 20,
};

const ENDPOINTS: MeterEndpoint[] = [
  { unitAddress: '1', profile: 'campus-1in3out' },
  { unitAddress: '2', profile: 'sdm120' },
  { unitAddress: '3', profile: 'acrel-ddsy1352' },
  { unitAddress: '4', profile: 'water-valve' },
];

function makeDriver(t: Host, port: number, options: Partial<ModbusTcpDriverOptions> = {}) {
  const clock = new SimulatedClock(AT, 0); // frozen: every reading.at is AT
  const listener = new RecordingListener();
  const errors: unknown[] = [];
  const driver = new ModbusTcpDriver({
    host: '127.0.0.1',
    port,
    clock,
    listener,
    onError: (error) => errors.push(error),
    ...FAST,
    ...options,
  });
  t.teardown(async () => {
    await driver.stop();
    clock.dispose();
  });
  return { driver, listener, errors };
}

async function simulator(t: Host, options: Partial<ModbusGatewayServerOptions> = {}) {
  const meters = {
    campus: new FakeMeter('1', 'campus-1in3out', campusReading('1')),
    sdm: new FakeMeter('2', 'sdm120', sdm120Reading('2')),
    acrel: new FakeMeter('3', 'acrel-ddsy1352', acrelReading('3')),
    water: new FakeMeter('4', 'water-valve', waterReading('4')),
  };
  const gateway = new FakeGateway('gw-1', Object.values(meters));
  const server = new ModbusGatewayServer({ gateway, ...options });
  await server.start();
  t.teardown(() => server.stop());
  return { gateway, server, ...meters };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('polls the simulator and hands over decoded readings', async (t) => {
  const sim = await simulator(t);
  const { driver, listener, errors } = makeDriver(t, sim.server.port);
  driver.setMeters(ENDPOINTS);
  await driver.start();
  for (const unit of ['1', '2', '3', '4']) await listener.waitFor('meterStatus', (e) => e.unitAddress === unit && e.online);
  t.strictSame(listener.of('gatewayStatus').map((e) => e.online), [true]);
  const latest = (unit: string) => listener.of('reading').find((e) => e.reading.unitAddress === unit);
  t.strictSame(latest('1')?.reading, sim.campus.reading, 'campus meter, every field');
  t.strictSame(latest('2')?.reading, sim.sdm.reading, 'SDM120');
  t.strictSame(latest('3')?.reading, sim.acrel.reading, 'Acrel');
  t.strictSame(latest('4')?.reading, sim.water.reading, 'water meter');
  t.equal(typeof latest('1')?.decodedAtNs, 'bigint');
  const before = listener.of('reading').length;
  await sleep(200);
  t.ok(listener.of('reading').length >= before + 8, 'keeps polling every pollIntervalMs');
  t.strictSame(listener.of('frameRejected'), []);
  t.strictSame(errors, []);
});

t.test('relay commands are written, confirmed by read-back, and show in the next reading', async (t) => {
  const sim = await simulator(t);
  const { driver, listener } = makeDriver(t, sim.server.port, { pollIntervalMs: 1000 });
  driver.setMeters(ENDPOINTS);
  await driver.start();
  await listener.waitFor('meterStatus', (e) => e.unitAddress === '4');
  const sentAt = Date.now();
  driver.send({ commandId: 'c1', unitAddress: '1', target: 'socket', action: 'cut' });
  const result = await listener.waitFor('commandResult', (e) => e.commandId === 'c1');
  t.ok(Date.now() - sentAt < 500, 'a sleeping loop is woken: no wait for the next poll cycle');
  t.equal(result.outcome, 'confirmed', result.detail);
  t.match(result.detail, /read back \[0,0\] at 0x0026/);
  const sentIndex = listener.events.findIndex((e) => e.type === 'commandSent' && e.commandId === 'c1');
  t.ok(sentIndex >= 0 && sentIndex < listener.events.indexOf(result), 'commandSent before the result');
  t.strictSame(sim.campus.supplyCalls, [{ target: 'socket', closed: false }]);

  driver.send({ commandId: 'c2', unitAddress: '3', target: 'main', action: 'cut' });
  driver.send({ commandId: 'c3', unitAddress: '4', target: 'valve', action: 'cut' });
  t.equal((await listener.waitFor('commandResult', (e) => e.commandId === 'c2')).outcome, 'confirmed');
  t.equal((await listener.waitFor('commandResult', (e) => e.commandId === 'c3')).outcome, 'confirmed');
  t.equal(sim.acrel.reading.type === 'electric' && sim.acrel.reading.relayClosed, false);
  t.equal(sim.water.reading.type === 'water' && sim.water.reading.valveOpen, false);

  const from = listener.events.length;
  const next = await listener.waitFor('reading', (e) => e.reading.unitAddress === '1', 3000, from);
  const socket = next.reading.type === 'electric' ? next.reading.circuits.find((c) => c.kind === 'socket') : undefined;
  t.equal(socket?.relayClosed, false, 'the next poll reads the socket circuit open');
});

t.test('unconfirmed, unsupported, unknown and superseded commands fail with a reason', async (t) => {
  const sim = await simulator(t);
  const { driver, listener } = makeDriver(t, sim.server.port, { commandAttempts: 3 });
  driver.setMeters(ENDPOINTS);
  await driver.start();
  await listener.waitFor('gatewayStatus');

  sim.campus.obey = false;
  driver.send({ commandId: 'stuck', unitAddress: '1', target: 'lighting', action: 'cut' });
  const stuck = await listener.waitFor('commandResult', (e) => e.commandId === 'stuck');
  t.equal(stuck.outcome, 'failed');
  t.match(stuck.detail, /3 attempts, last: read back \[1,1\], expected \[0,0\]/);
  t.equal(sim.campus.supplyCalls.length, 3, 'written once per attempt');
  t.equal(listener.of('commandSent').filter((e) => e.commandId === 'stuck').length, 1, 'sent reported once');
  sim.campus.obey = true;

  driver.send({ commandId: 'main', unitAddress: '1', target: 'main', action: 'cut' });
  driver.send({ commandId: 'sdm', unitAddress: '2', target: 'main', action: 'cut' });
  driver.send({ commandId: 'nobody', unitAddress: '42', target: 'lighting', action: 'cut' });
  t.match((await listener.waitFor('commandResult', (e) => e.commandId === 'main')).detail, /campus-1in3out cannot switch main/);
  t.match((await listener.waitFor('commandResult', (e) => e.commandId === 'sdm')).detail, /sdm120 cannot switch main/);
  t.match((await listener.waitFor('commandResult', (e) => e.commandId === 'nobody')).detail, /no meter at unit 42/);
  t.notOk(listener.of('commandSent').some((e) => ['main', 'sdm', 'nobody'].includes(e.commandId)), 'nothing was written');

  driver.send({ commandId: 'old', unitAddress: '1', target: 'ac', action: 'cut' });
  driver.send({ commandId: 'new', unitAddress: '1', target: 'ac', action: 'restore' });
  const old = await listener.waitFor('commandResult', (e) => e.commandId === 'old');
  t.strictSame([old.outcome, old.detail], ['failed', 'superseded by new']);
  t.equal((await listener.waitFor('commandResult', (e) => e.commandId === 'new')).outcome, 'confirmed');
});

t.test('a dropped gateway: gateway offline, meters offline after N polls, all back online', async (t) => {
  const sim = await simulator(t);
  const { driver, listener } = makeDriver(t, sim.server.port, { offlineAfterFailedPolls: 3 });
  driver.setMeters(ENDPOINTS);
  await driver.start();
  await listener.waitFor('meterStatus', (e) => e.unitAddress === '4' && e.online);

  const from = listener.events.length;
  sim.gateway.setOnline(false);
  await listener.waitFor('gatewayStatus', (e) => !e.online, 2000, from);
  for (const unit of ['1', '2', '3', '4']) {
    const offline = await listener.waitFor('meterStatus', (e) => e.unitAddress === unit && !e.online, 3000, from);
    // Measured from the meter's last good reading, not from the drop: the driver paces each cycle from its own start,
    // which can precede the drop, but the N = 3 failed polls come in the 3 cycles after the last good one, so offline
    // is at least 2 poll intervals after it however loaded the machine. A driver offline on the first failure would
    // be about one interval after it (on a quiet machine), and fails this.
    const lastReading = listener.events.slice(0, listener.events.indexOf(offline)).findLast((e) => e.type === 'reading' && e.reading.unitAddress === unit);
    if (!lastReading) throw new Error(`meter ${unit} went offline without a reading before`);
    const silentMs = listener.atMs(offline) - listener.atMs(lastReading);
    t.ok(silentMs >= 2 * 50, `meter ${unit} offline only after several poll intervals since its last reading, not on the first failure (${Math.round(silentMs)} ms)`);
  }
  t.equal(listener.of('meterStatus').filter((e) => !e.online).length, 4, 'each meter reported offline once');

  const back = listener.events.length;
  sim.gateway.setOnline(true);
  await listener.waitFor('gatewayStatus', (e) => e.online, 3000, back);
  for (const unit of ['1', '2', '3', '4']) await listener.waitFor('meterStatus', (e) => e.unitAddress === unit && e.online, 3000, back);
  await listener.waitFor('reading', (e) => e.reading.unitAddress === '1', 3000, back);
  t.pass('readings flow again');
});

t.test('a silent gateway: timeouts, reconnect, meters offline, recovery', async (t) => {
  const sim = await simulator(t, { offlineBehaviour: 'silent' });
  const { driver, listener } = makeDriver(t, sim.server.port);
  driver.setMeters(ENDPOINTS.slice(0, 2));
  await driver.start();
  await listener.waitFor('meterStatus', (e) => e.unitAddress === '2' && e.online);
  const from = listener.events.length;
  sim.gateway.setOnline(false);
  await listener.waitFor('meterStatus', (e) => e.unitAddress === '1' && !e.online, 5000, from);
  await listener.waitFor('gatewayStatus', (e) => !e.online, 5000, from);
  const back = listener.events.length;
  sim.gateway.setOnline(true);
  await listener.waitFor('meterStatus', (e) => e.unitAddress === '1' && e.online, 5000, back);
  await listener.waitFor('gatewayStatus', (e) => e.online, 5000, back);
  t.pass('recovered');
});

t.test('a unit the gateway does not know goes offline after exactly N polls; the rest stay online', async (t) => {
  const gateway = new FakeGateway('gw-2', []);
  const server = new ModbusGatewayServer({ gateway });
  await server.start();
  t.teardown(() => server.stop());
  const listener = new RecordingListener();
  let requestsWhenOffline = -1;
  listener.meterStatus = function (unitAddress, online) {
    requestsWhenOffline = server.requestsServed;
    RecordingListener.prototype.meterStatus.call(this, unitAddress, online);
  };
  const clock = new SimulatedClock(AT, 0);
  const driver = new ModbusTcpDriver({ host: '127.0.0.1', port: server.port, clock, listener, ...FAST, offlineAfterFailedPolls: 3 });
  t.teardown(() => driver.stop());
  driver.setMeters([{ unitAddress: '9', profile: 'campus-1in3out' }]);
  await driver.start();
  await listener.waitFor('meterStatus', (e) => !e.online);
  t.equal(requestsWhenOffline, 3, 'three exception replies (0x0B), no retries of a definite answer');
  t.strictSame(listener.of('gatewayStatus').map((e) => e.online), [true], 'the gateway itself answered');
  t.strictSame(listener.of('frameRejected'), [], 'an exception is not a malformed frame');
});

t.test('nothing listening: offline, backoff; the gateway appears: online', async (t) => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const { driver, listener } = makeDriver(t, port);
  driver.setMeters(ENDPOINTS.slice(0, 1));
  await driver.start();
  await listener.waitFor('gatewayStatus', (e) => !e.online);
  await listener.waitFor('meterStatus', (e) => !e.online);
  driver.send({ commandId: 'offline-cmd', unitAddress: '1', target: 'socket', action: 'cut' });
  const failed = await listener.waitFor('commandResult', (e) => e.commandId === 'offline-cmd');
  t.match(failed.detail, /3 attempts, last: gateway not connected/);

  const sim = await simulator(t, { port });
  t.equal(sim.server.port, port);
  await listener.waitFor('gatewayStatus', (e) => e.online, 5000);
  await listener.waitFor('meterStatus', (e) => e.online, 5000);
  t.pass('connected once the port answered');
});

t.test('malformed replies are counted via frameRejected and the driver keeps running', async (t) => {
  const good = sdm120Profile.encode(sdm120Reading('1'));
  const nan = [...good];
  nan[0] = 0x7fc0; // voltage NaN
  const script = (r: { index: number; transactionId: number; unitId: number }) => {
    switch (r.index) {
      case 0:
        return mbap(r.transactionId, r.unitId, readReply(0x04, nan));
      case 1:
        return mbap(r.transactionId, r.unitId, readReply(0x04, good.slice(0, 10))); // 10 of 74 registers
      case 2:
        return mbap(r.transactionId, 5, readReply(0x04, good)); // another unit's reply
      case 3:
        return Buffer.from('HELLO, THIS IS NOT MODBUS AT ALL\r\n');
      case 4:
        return Buffer.concat([Buffer.from([0, r.transactionId, 0, 0, 0xff, 0xff, r.unitId]), Buffer.alloc(64)]); // "huge"
      default:
        return mbap(r.transactionId, r.unitId, readReply(0x04, good));
    }
  };
  const server = new ScriptedModbusServer(script);
  await server.start();
  t.teardown(() => server.stop());
  const { driver, listener, errors } = makeDriver(t, server.port, { pollRetries: 1 });
  driver.setMeters([{ unitAddress: '1', profile: 'sdm120' }]);
  await driver.start();
  await listener.waitFor('reading', () => true, 5000);
  const reasons = listener.of('frameRejected').map((e) => `${e.unitAddress} ${e.reason}`);
  t.match(reasons, [
    /^1 sdm120: voltage is NaN/,
    /^1 Data length error/,
    /^1 Unexpected data error, expected address 1 got 5/,
    /^1 malformed MBAP header \(protocol 19532, length 20268\)/,
    /^1 malformed MBAP header \(protocol 0, length 65535\)/,
  ]);
  t.equal(reasons.length, 5, 'each bad frame counted once');
  t.ok(server.connections >= 3, 'reconnected after each unframeable reply');
  const count = listener.of('reading').length;
  await sleep(150);
  t.ok(listener.of('reading').length > count, 'still polling');
  t.strictSame(errors, [], 'no internal error');
});

t.test('one request at a time per connection, even with commands queued', async (t) => {
  const campus = campus1in3outProfile.encode(campusReading('1'));
  const server = new ScriptedModbusServer((r) => {
    const fc = r.pdu[0]!;
    if (fc === 0x10) return mbap(r.transactionId, r.unitId, r.pdu.subarray(0, 5));
    const address = r.pdu.readUInt16BE(1);
    const quantity = r.pdu.readUInt16BE(3);
    const image = [...campus];
    image[0x16] = 0; // lighting relay reads open, so cuts confirm
    image[0x17] = 0;
    return mbap(r.transactionId, r.unitId, readReply(fc, image.slice(address, address + quantity)));
  }, 5);
  await server.start();
  t.teardown(() => server.stop());
  const { driver, listener } = makeDriver(t, server.port, { pollIntervalMs: 10 });
  driver.setMeters([1, 2, 3].map((u) => ({ unitAddress: String(u), profile: 'campus-1in3out' as const })));
  await driver.start();
  for (let i = 0; i < 5; i++) driver.send({ commandId: `k${i}`, unitAddress: String(1 + (i % 3)), target: 'lighting', action: 'cut' });
  for (let i = 0; i < 5; i++) await listener.waitFor('commandResult', (e) => e.commandId === `k${i}`);
  await sleep(100);
  t.equal(server.maxOutstanding, 1, `never pipelined (${server.requests} requests)`);
});

t.test('setMeters validates unit ids; send before start fails; stop is prompt and final', async (t) => {
  const { driver, listener } = makeDriver(t, 1);
  t.throws(() => driver.setMeters([{ unitAddress: '0', profile: 'sdm120' }]), RangeError);
  t.throws(() => driver.setMeters([{ unitAddress: '248', profile: 'sdm120' }]), RangeError);
  t.throws(() => driver.setMeters([{ unitAddress: '01', profile: 'sdm120' }]), RangeError);
  t.throws(() => driver.setMeters([{ unitAddress: 'meter-a', profile: 'sdm120' }]), RangeError);
  t.throws(() => driver.setMeters([ENDPOINTS[0]!, ENDPOINTS[0]!]), /twice/);
  driver.send({ commandId: 'early', unitAddress: '1', target: 'socket', action: 'cut' });
  t.match((await listener.waitFor('commandResult')).detail, /driver not running/);

  const sim = await simulator(t);
  const live = makeDriver(t, sim.server.port);
  live.driver.setMeters(ENDPOINTS);
  await live.driver.start();
  await live.listener.waitFor('reading');
  live.driver.send({ commandId: 'pending', unitAddress: '1', target: 'socket', action: 'cut' });
  const stopping = Date.now();
  await live.driver.stop();
  t.ok(Date.now() - stopping < 500, 'stop does not wait for a poll cycle');
  const count = live.listener.events.length;
  await sleep(150);
  t.equal(live.listener.events.length, count, 'no callbacks after stop');
  const pending = live.listener.of('commandResult').find((e) => e.commandId === 'pending');
  t.ok(pending, 'a queued command is resolved, not forgotten');
});

t.test('a write the meter refuses fails at once; a throwing listener does not stop the loop', async (t) => {
  const campus = campus1in3outProfile.encode(campusReading('1'));
  const server = new ScriptedModbusServer((r) =>
    r.pdu[0] === 0x10
      ? mbap(r.transactionId, r.unitId, [0x90, 0x02]) // illegal data address
      : mbap(r.transactionId, r.unitId, readReply(0x03, campus.slice(r.pdu.readUInt16BE(1), r.pdu.readUInt16BE(1) + r.pdu.readUInt16BE(3)))),
  );
  await server.start();
  t.teardown(() => server.stop());
  const { driver, listener, errors } = makeDriver(t, server.port);
  let readings = 0;
  listener.reading = () => {
    readings += 1;
    throw new Error('actor bug');
  };
  driver.setMeters([ENDPOINTS[0]!]);
  await driver.start();
  driver.send({ commandId: 'refused', unitAddress: '1', target: 'lighting', action: 'cut' });
  const refused = await listener.waitFor('commandResult', (e) => e.commandId === 'refused');
  t.match(refused.detail, /^1 attempts, last: write failed: Modbus exception 2/);
  t.notOk(listener.of('commandSent').some((e) => e.commandId === 'refused'), 'a write the meter refused was not sent (it cannot have switched the relay)');
  await sleep(200);
  t.ok(readings >= 3, `polling went on (${readings} readings)`);
  t.ok(errors.length >= 3 && errors.every((e) => e instanceof Error && e.message === 'actor bug'), 'listener errors reported to onError');
  t.equal(server.connections, 1, 'the connection was kept');
});
