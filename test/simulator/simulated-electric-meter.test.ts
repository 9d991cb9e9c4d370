import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import type { ElectricReading } from '../../src/domain/reading.ts';
import { Prng } from '../../src/simulator/prng.ts';
import { RoomLoad, furnishRoom } from '../../src/simulator/room-load.ts';
import {
  ALARM_BITS,
  SimulatedElectricMeter,
  type ElectricProfileName,
} from '../../src/simulator/simulated-electric-meter.ts';

const HOUR_MS = 3_600_000;
/** 2025-07-15 09:00 local (UTC+8), plus an odd offset so nothing lines up with a slot. */
const START = Date.parse('2025-07-15T09:00:00+08:00') + 12_345;

function setup(profile: ElectricProfileName = 'campus-1in3out', options: { furnished?: boolean; seed?: number } = {}) {
  const clock = new SimulatedClock(START, 0);
  const load = new RoomLoad({ seed: options.seed ?? 1, utcOffsetMinutes: 480 });
  if (options.furnished) furnishRoom(load, new Prng(options.seed ?? 1));
  const meter = new SimulatedElectricMeter({ unitAddress: '7', profile, clock, load, seed: 99, utcOffsetMinutes: 480 });
  return { clock, load, meter };
}

function circuit(reading: ElectricReading, kind: 'lighting' | 'socket' | 'ac') {
  const found = reading.circuits.find((c) => c.kind === kind);
  if (!found) throw new Error(`no ${kind} circuit`);
  return found;
}

t.test('a 1800 W kettle for exactly one hour adds exactly 1800 Wh to socket and incoming', async (t) => {
  const { clock, load, meter } = setup();
  const before = meter.read();
  t.equal(before.energyWh, 0);
  load.plug('kettle', 'socket');
  // Read at awkward moments on the way: lazy integration must not lose or double anything.
  for (let elapsed = 0; elapsed < HOUR_MS; ) {
    const step = Math.min(7 * 60_000 + 333, HOUR_MS - elapsed);
    clock.advance(step);
    elapsed += step;
    meter.read();
  }
  const after = meter.read();
  t.equal(after.at - before.at, HOUR_MS);
  t.equal(circuit(after, 'socket').energyWh, 1800);
  t.equal(circuit(after, 'lighting').energyWh, 0);
  t.equal(circuit(after, 'ac').energyWh, 0);
  t.equal(after.energyWh, 1800, 'incoming = sum of circuits');
  t.equal(circuit(after, 'socket').powerW, 1800);
  t.equal(circuit(after, 'socket').powerFactor, 1);
  t.ok(after.voltageV >= 220 && after.voltageV <= 230, `voltage ${after.voltageV}`);
  t.ok(Math.abs(circuit(after, 'socket').currentA - 1800 / after.voltageV) < 0.001, 'I = P / (V x PF)');
  t.equal(after.powerW, 1800);
  t.equal(after.type, 'electric');
  t.equal(after.unitAddress, '7');
  t.equal(after.relayClosed, undefined, 'the campus meter has no main relay');
});

t.test('an appliance plugged mid-slot is integrated from the moment it is plugged', async (t) => {
  const { clock, load, meter } = setup();
  clock.advance(17_000);
  const id = load.plug('kettle', 'socket');
  clock.advance(90_000);
  load.unplug(id);
  clock.advance(HOUR_MS);
  // 1800 W x 90 s = 45 Wh.
  t.equal(meter.read().energyWh, 45);
  t.equal(meter.read().powerW, 0);
});

t.test('an open relay draws nothing and counts nothing; closing it resumes', async (t) => {
  const { clock, load, meter } = setup();
  load.plug('heater', 'socket');
  load.plug('lamp', 'lighting');
  meter.setSupply('socket', false);
  clock.advance(2 * HOUR_MS);
  let reading = meter.read();
  const socket = circuit(reading, 'socket');
  t.equal(socket.relayClosed, false);
  t.equal(socket.powerW, 0);
  t.equal(socket.currentA, 0);
  t.equal(socket.energyWh, 0);
  t.equal(circuit(reading, 'lighting').energyWh, 30, 'the lamp circuit kept going: 15 W x 2 h');
  t.equal(reading.energyWh, 30);
  meter.setSupply('socket', true);
  clock.advance(HOUR_MS);
  reading = meter.read();
  t.equal(circuit(reading, 'socket').relayClosed, true);
  t.equal(circuit(reading, 'socket').powerW, 2000);
  t.equal(circuit(reading, 'socket').energyWh, 2000);
  t.equal(reading.energyWh, 2045);
});

t.test('registers do not depend on how often the meter is read', async (t) => {
  const often = setup('campus-1in3out', { furnished: true, seed: 5 });
  const once = setup('campus-1in3out', { furnished: true, seed: 5 });
  for (let i = 0; i < 24 * 60; i++) {
    often.clock.advance(60_000 + (i % 3) * 7);
    often.meter.read();
  }
  once.clock.jumpTo(often.clock.now());
  const a = often.meter.read();
  const b = once.meter.read();
  t.same(a, b);
  t.ok(a.energyWh > 1000, `a summer day of a lived-in room: ${a.energyWh} Wh`);
  t.equal(a.energyWh, a.circuits.reduce((sum, c) => sum + c.energyWh, 0));
});

t.test('cover and reverse-connection flags show in flags and alarm word', async (t) => {
  const { clock, load, meter } = setup();
  load.plug('kettle', 'socket');
  clock.advance(HOUR_MS);
  let reading = meter.read();
  t.same(reading.flags, { coverOpen: false, reverseConnection: false });
  t.equal(reading.alarmWord, 0);
  meter.setCoverOpen(true);
  reading = meter.read();
  t.same(reading.flags, { coverOpen: true, reverseConnection: false });
  t.equal(reading.alarmWord, ALARM_BITS.coverOpen);
  meter.setReverseConnection(true);
  clock.advance(HOUR_MS);
  reading = meter.read();
  t.same(reading.flags, { coverOpen: true, reverseConnection: true });
  t.equal(reading.alarmWord, ALARM_BITS.coverOpen | ALARM_BITS.reverseConnection);
  t.equal(reading.powerW, -1800, 'reverse-connected: power reads negative');
  t.equal(reading.powerFactor, -1);
  t.equal(circuit(reading, 'socket').powerW, -1800);
  t.equal(reading.energyWh, 3600, 'the billed register keeps counting');
  meter.setCoverOpen(false);
  meter.setReverseConnection(false);
  t.equal(meter.read().alarmWord, 0);
});

t.test('an Acrel meter has one relay over the whole room', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const load = new RoomLoad({ seed: 1, utcOffsetMinutes: 480 });
  const meter = new SimulatedElectricMeter({
    unitAddress: '3',
    profile: 'acrel-ddsy1352',
    clock,
    load,
    seed: 1,
    utcOffsetMinutes: 480,
    initialEnergyWh: { main: 12_000 },
  });
  t.same(meter.supplyTargets, ['main']);
  load.plug('kettle', 'socket');
  load.plug('lamp', 'lighting');
  clock.advance(HOUR_MS);
  let reading = meter.read();
  t.equal(reading.energyWh, 12_000 + 1815);
  t.same(reading.circuits, []);
  t.equal(reading.relayClosed, true);
  t.equal(reading.powerW, 1815);
  meter.setSupply('main', false);
  clock.advance(HOUR_MS);
  reading = meter.read();
  t.equal(reading.relayClosed, false);
  t.equal(reading.powerW, 0);
  t.equal(reading.energyWh, 12_000 + 1815);
  t.throws(() => meter.setSupply('socket', true), RangeError);
});

t.test('an SDM120 is read-only', async (t) => {
  const { clock, load, meter } = setup('sdm120');
  t.same(meter.supplyTargets, []);
  t.throws(() => meter.setSupply('main', false), RangeError);
  load.plug('laptop', 'socket');
  clock.advance(HOUR_MS);
  const reading = meter.read();
  t.equal(reading.relayClosed, undefined);
  t.ok(reading.energyWh >= 50 && reading.energyWh <= 70, `laptop hour ${reading.energyWh} Wh`);
  t.ok(reading.powerFactor > 0.89 && reading.powerFactor < 0.91, `PF ${reading.powerFactor}`);
});

t.test('a campus meter switches circuits only', async (t) => {
  const { meter } = setup();
  t.same(meter.supplyTargets, ['lighting', 'socket', 'ac']);
  t.throws(() => meter.setSupply('main', false), RangeError);
  t.throws(() => meter.setSupply('valve', false), RangeError);
  t.throws(
    () => new SimulatedElectricMeter({ unitAddress: '1', profile: 'campus-1in3out', clock: new SimulatedClock(0, 0), load: new RoomLoad({ seed: 1, utcOffsetMinutes: 480 }), seed: 1, utcOffsetMinutes: 480, initialEnergyWh: { main: 5 } }),
    RangeError,
  );
});

t.test('a meter starts from given circuit registers', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const meter = new SimulatedElectricMeter({
    unitAddress: '1',
    profile: 'campus-1in3out',
    clock,
    load: new RoomLoad({ seed: 1, utcOffsetMinutes: 480 }),
    seed: 1,
    utcOffsetMinutes: 480,
    initialEnergyWh: { lighting: 10, socket: 200, ac: 3000 },
  });
  const reading = meter.read();
  t.same(reading.circuits.map((c) => c.energyWh), [10, 200, 3000]);
  t.equal(reading.energyWh, 3210);
});
