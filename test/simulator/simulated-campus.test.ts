import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedClock } from '../../src/clock.ts';
import type { ElectricReading, MeterReading } from '../../src/domain/reading.ts';
import { SimulatedCampus, type SimulatedCampusDescription } from '../../src/simulator/simulated-campus.ts';
import type { SimulatedGatewayView } from '../../src/simulator/simulated-gateway.ts';
import { SimulatorError } from '../../src/simulator/simulator-error.ts';

const HOUR_MS = 3_600_000;
const START = Date.parse('2025-07-15T10:00:00+08:00');

function description(seed = 1, furnished = true): SimulatedCampusDescription {
  return {
    seed,
    gateways: [
      {
        gatewayId: 'gw-north',
        protocol: 'modbus-tcp',
        meters: [
          { unitAddress: '1', profile: 'campus-1in3out', dormitoryId: 'd101', furnished },
          { unitAddress: '2', profile: 'campus-1in3out', dormitoryId: 'd102', furnished },
          { unitAddress: '3', profile: 'acrel-ddsy1352', dormitoryId: 'shop-1', furnished },
          { unitAddress: '4', profile: 'sdm120', dormitoryId: 'shop-2', furnished },
        ],
      },
      {
        gatewayId: 'gw-south',
        protocol: 'mqtt',
        meters: [
          { unitAddress: 'water-101', profile: 'water-valve', dormitoryId: 'd101' },
          { unitAddress: 'water-103', profile: 'water-valve', dormitoryId: 'd103' },
        ],
      },
    ],
  };
}

function electric(reading: MeterReading | undefined): ElectricReading {
  if (reading?.type !== 'electric') throw new Error('expected an electric reading');
  return reading;
}

function socketWh(reading: ElectricReading): number {
  return reading.circuits.find((c) => c.kind === 'socket')!.energyWh;
}

/** The code of the SimulatorError `fn` throws ('no error' / 'not a SimulatorError' otherwise). */
function errorCode(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof SimulatorError ? error.code : `not a SimulatorError: ${String(error)}`;
  }
}

t.test('builds gateways, meters and dormitories from a plain description', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const campus = new SimulatedCampus(description(), clock);
  t.same(campus.gateways().map((g) => [g.gatewayId, g.protocol, g.online]), [
    ['gw-north', 'modbus-tcp', true],
    ['gw-south', 'mqtt', true],
  ]);
  const north: SimulatedGatewayView = campus.gateway('gw-north')!;
  t.same(north.meters().map((m) => [m.unitAddress, m.profile]), [
    ['1', 'campus-1in3out'],
    ['2', 'campus-1in3out'],
    ['3', 'acrel-ddsy1352'],
    ['4', 'sdm120'],
  ]);
  t.equal(north.meter('3')!.read().type, 'electric');
  t.equal(campus.gateway('gw-south')!.meter('water-103')!.read().type, 'water');
  t.equal(north.meter('99'), undefined);
  t.equal(campus.gateway('nope'), undefined);
  t.same(campus.dormitoryIds(), ['d101', 'd102', 'shop-1', 'shop-2', 'd103']);
  const d101 = campus.dormitory('d101')!;
  t.equal(d101.electric?.unitAddress, '1');
  t.equal(d101.electricGatewayId, 'gw-north');
  t.equal(d101.water?.unitAddress, 'water-101');
  t.equal(d101.waterGatewayId, 'gw-south');
  t.equal(campus.dormitory('d103')!.electric, undefined);
  t.ok(d101.electric!.load.appliances().length >= 6, 'a furnished room');
  t.equal(campus.utcOffsetMinutes, 480);
});

t.test('a kettle plugged in through the campus: exactly 1800 Wh in one simulated hour', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const campus = new SimulatedCampus(description(1, false), clock);
  const meter = campus.gateway('gw-north')!.meter('1')!;
  const before = electric(meter.read());
  const id = campus.plug('d101', 'kettle', 'socket');
  clock.advance(HOUR_MS);
  const after = electric(meter.read());
  t.equal(socketWh(after) - socketWh(before), 1800);
  t.equal(after.energyWh - before.energyWh, 1800);
  campus.unplug('d101', id);
  clock.advance(HOUR_MS);
  t.equal(electric(meter.read()).energyWh, after.energyWh, 'unplugged: nothing more');
  t.equal(errorCode(() => campus.unplug('d101', id)), 'APPLIANCE_NOT_FOUND');
  t.equal(errorCode(() => campus.plug('nowhere', 'kettle', 'socket')), 'DORMITORY_NOT_FOUND');
  t.equal(errorCode(() => campus.plug('d103', 'kettle', 'socket')), 'NO_ELECTRIC_METER');
  t.equal(errorCode(() => campus.plug('d101', 'toaster' as 'kettle', 'socket')), 'INVALID_INPUT');
  t.equal(errorCode(() => campus.plug('d101', 'kettle', 'garage' as 'socket')), 'INVALID_INPUT');
});

t.test('a plugged air conditioner cycles, on 12 minutes in 20; two laptops on the same circuit never stop (test/helpers runSteadyLoad)', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const campus = new SimulatedCampus(description(1, false), clock);
  const meter = campus.dormitory('d101')!.electric!;
  const acW = () => meter.read().circuits.find((c) => c.kind === 'ac')!.powerW;
  campus.plug('d101', 'air_conditioner', 'ac');
  const minutes: number[] = [];
  for (let minute = 0; minute < 40; minute++) {
    clock.advance(60_000);
    minutes.push(acW());
  }
  const standby = minutes.filter((w) => w === 5).length;
  t.equal(standby, 16, `8 minutes in each 20 at its 5 W standby: ${minutes.map((w) => Math.round(w)).join(' ')}`);
  t.ok(minutes.every((w) => w === 5 || w > 800), 'otherwise its compressor runs');
  campus.plug('d101', 'laptop', 'ac');
  campus.plug('d101', 'laptop', 'ac');
  const before = meter.read().circuits.find((c) => c.kind === 'ac')!.energyWh;
  let lowest = Infinity;
  let registerStill = 0;
  let last = before;
  for (let minute = 0; minute < 40; minute++) {
    clock.advance(60_000);
    lowest = Math.min(lowest, acW());
    const now = meter.read().circuits.find((c) => c.kind === 'ac')!.energyWh;
    if (now === last) registerStill++;
    last = now;
  }
  t.ok(lowest >= 90, `with two laptops (60 W each, +-25 %) the circuit never draws less than 90 W (lowest ${lowest} W)`);
  t.equal(registerStill, 0, 'its register advances every minute');
});

t.test('a relay opened through the view cuts the load a campus plug added', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const campus = new SimulatedCampus(description(1, false), clock);
  const view: SimulatedGatewayView = campus.gateway('gw-north')!;
  campus.plug('shop-1', 'heater', 'socket');
  view.meter('3')!.setSupply('main', false);
  clock.advance(HOUR_MS);
  const reading = electric(view.meter('3')!.read());
  t.equal(reading.powerW, 0);
  t.equal(reading.energyWh, 0);
  t.equal(reading.relayClosed, false);
});

t.test('events: pulling the AC plug, plugging it back, cover, reverse connection', async (t) => {
  const clock = new SimulatedClock(Date.parse('2025-04-08T15:00:00+08:00'), 0);
  const campus = new SimulatedCampus(description(), clock);
  const meter = campus.dormitory('d102')!.electric!;
  const acW = () => meter.read().circuits.find((c) => c.kind === 'ac')!.powerW;
  t.equal(acW(), 5, 'a spring afternoon: the AC idles at standby');
  const pulled = campus.raiseEvent('d102', 'ac_unplugged');
  t.equal(pulled.length, 1);
  clock.advance(60_000);
  t.equal(acW(), 0, 'plug pulled: no standby current');
  t.same(campus.raiseEvent('d102', 'ac_unplugged'), [], 'nothing left to pull');
  const plugged = campus.raiseEvent('d102', 'ac_plugged');
  t.equal(plugged.length, 1);
  t.same(campus.raiseEvent('d102', 'ac_plugged'), [], 'already plugged');
  t.equal(acW(), 5, 'standby current is back');

  t.same(meter.read().flags, { coverOpen: false, reverseConnection: false });
  campus.raiseEvent('d102', 'cover_opened');
  t.same(meter.read().flags, { coverOpen: true, reverseConnection: false });
  campus.raiseEvent('d102', 'reverse_connection');
  const reading = meter.read();
  t.same(reading.flags, { coverOpen: true, reverseConnection: true });
  t.ok(reading.alarmWord !== 0);
  t.ok(reading.powerW < 0, `reverse-connected power reads ${reading.powerW} W`);
  t.equal(errorCode(() => campus.raiseEvent('d103', 'cover_opened')), 'NO_ELECTRIC_METER');
  t.equal(errorCode(() => campus.raiseEvent('d101', 'meteor' as 'cover_opened')), 'INVALID_INPUT');
});

t.test('a dropped gateway goes offline for its listeners; its meters keep counting', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const campus = new SimulatedCampus(description(1, false), clock);
  const view: SimulatedGatewayView = campus.gateway('gw-north')!;
  const heard: boolean[] = [];
  const off = view.onOnlineChange((online) => heard.push(online));
  campus.plug('d101', 'kettle', 'socket');
  campus.setGatewayOnline('gw-north', false);
  campus.setGatewayOnline('gw-north', false);
  t.equal(view.online, false);
  clock.advance(HOUR_MS);
  campus.setGatewayOnline('gw-north', true);
  off();
  campus.setGatewayOnline('gw-north', false);
  t.same(heard, [false, true], 'real changes only, until unsubscribed');
  t.equal(electric(view.meter('1')!.read()).energyWh, 1800);
  t.equal(campus.status().gatewaysOnline, 1);
  t.equal(errorCode(() => campus.setGatewayOnline('gw-east', true)), 'GATEWAY_NOT_FOUND');
});

t.test('status is a JSON-serialisable summary', async (t) => {
  const clock = new SimulatedClock(Date.parse('2025-07-15T21:00:00+08:00'), 0);
  const campus = new SimulatedCampus(description(), clock);
  campus.plug('d101', 'kettle', 'socket');
  const status = campus.status();
  t.same(JSON.parse(JSON.stringify(status)), status);
  t.equal(status.at, '2025-07-15T13:00:00.000Z');
  t.equal(status.meterCount, 6);
  t.equal(status.gatewaysOnline, 2);
  t.same(status.gateways.map((g) => g.meterCount), [4, 2]);
  const d101 = status.dormitories.find((d) => d.dormitoryId === 'd101')!;
  t.ok(d101.appliances.some((a) => a.kind === 'kettle' && a.circuit === 'socket' && a.usage === 'continuous'));
  t.ok(d101.electric!.powerW >= 1800);
  t.same(d101.electric!.relays, { lighting: true, socket: true, ac: true });
  t.equal(d101.water!.valveOpen, true);
  t.same(status.dormitories.find((d) => d.dormitoryId === 'shop-1')!.electric!.relays, { main: true });
  t.same(status.dormitories.find((d) => d.dormitoryId === 'shop-2')!.electric!.relays, {});
  const d103 = status.dormitories.find((d) => d.dormitoryId === 'd103')!;
  t.equal(d103.electric, null);
  t.same(d103.appliances, []);
  const sum = status.dormitories.reduce((s, d) => s + Math.abs(d.electric?.powerW ?? 0), 0);
  t.ok(Math.abs(status.totalPowerW - sum) < 0.1);
  t.ok(status.totalPowerW > 1800 + 4 * 50, `a summer evening: ${status.totalPowerW} W`);
});

t.test('the same seed gives the same campus; another seed another', async (t) => {
  const run = (seed: number) => {
    const clock = new SimulatedClock(START, 0);
    const campus = new SimulatedCampus(description(seed), clock);
    clock.advance(36 * HOUR_MS);
    return campus.gateways().flatMap((g) => g.meters().map((m) => m.read()));
  };
  t.same(run(7), run(7));
  t.not(JSON.stringify(run(7)), JSON.stringify(run(8)));
});

t.test('the SimulatedClock drives everything: speed and jumps', async (t) => {
  const clock = new SimulatedClock(START, 0);
  t.teardown(() => clock.dispose());
  const campus = new SimulatedCampus(description(1, false), clock);
  const meter = campus.gateway('gw-north')!.meter('1')!;
  campus.plug('d101', 'kettle', 'socket');
  const start = electric(meter.read());

  clock.setSpeed(3600);
  await sleep(300);
  clock.setSpeed(0);
  const fast = electric(meter.read());
  const elapsedMs = fast.at - start.at;
  t.ok(elapsedMs > 0.25 * HOUR_MS && elapsedMs < 3 * HOUR_MS, `300 ms at 3600x is ${elapsedMs / 60_000} simulated min`);
  t.equal(fast.energyWh, Math.floor((1_800_000 * elapsedMs) / 3_600_000_000), 'exactly what the kettle drew');

  clock.jumpTo(fast.at + 7 * 24 * HOUR_MS);
  const week = electric(meter.read());
  t.equal(week.at, fast.at + 7 * 24 * HOUR_MS);
  t.equal(week.energyWh, Math.floor((1_800_000 * (week.at - start.at)) / 3_600_000_000));
  t.equal(week.energyWh - fast.energyWh >= 7 * 24 * 1800, true);
});

t.test('invalid descriptions are refused with a code, all or nothing', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const campus = new SimulatedCampus(description(), clock);
  t.equal(errorCode(() => campus.addGateway({ gatewayId: 'gw-north', protocol: 'mqtt', meters: [] })), 'GATEWAY_EXISTS');
  t.equal(errorCode(() => campus.addGateway({ gatewayId: 'gw-x', protocol: 'coap' as 'mqtt', meters: [] })), 'INVALID_INPUT');
  const halfValid = () =>
    campus.addGateway({
      gatewayId: 'gw-east',
      protocol: 'mqtt',
      meters: [
        { unitAddress: '1', profile: 'campus-1in3out', dormitoryId: 'd201' },
        { unitAddress: '2', profile: 'campus-1in3out', dormitoryId: 'd101' },
      ],
    });
  t.equal(errorCode(halfValid), 'METER_EXISTS', 'd101 already has an electricity meter');
  t.equal(campus.gateway('gw-east'), undefined, 'the half-built gateway is gone');
  t.equal(campus.dormitory('d201'), undefined, 'and so is the dormitory it created');
  t.equal(errorCode(() => campus.addMeter('gw-north', { unitAddress: '1', profile: 'sdm120', dormitoryId: 'd999' })), 'METER_EXISTS');
  t.equal(errorCode(() => campus.addMeter('gw-north', { unitAddress: '9', profile: 'elster' as 'sdm120', dormitoryId: 'd999' })), 'INVALID_INPUT');
  t.equal(errorCode(() => campus.addMeter('gw-north', { unitAddress: '9', profile: 'sdm120', dormitoryId: 'd999', initialEnergyWh: { lighting: 3 } })), 'INVALID_INPUT');
  t.equal(errorCode(() => campus.addMeter('gw-west', { unitAddress: '9', profile: 'sdm120', dormitoryId: 'd999' })), 'GATEWAY_NOT_FOUND');
  t.throws(() => new SimulatedCampus({ gateways: [], utcOffsetMinutes: 2000 }, clock), SimulatorError);
});

t.test('meters and gateways come and go at run time', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const campus = new SimulatedCampus(description(1, false), clock);
  campus.addMeter('gw-south', { unitAddress: 'e-103', profile: 'campus-1in3out', dormitoryId: 'd103', initialEnergyWh: { socket: 500 } });
  t.equal(campus.dormitory('d103')!.electricGatewayId, 'gw-south');
  t.equal(electric(campus.gateway('gw-south')!.meter('e-103')!.read()).energyWh, 500);
  campus.removeMeter('gw-north', '4');
  t.equal(campus.dormitory('shop-2'), undefined, 'a dormitory with no meter left is forgotten');
  t.equal(campus.gateway('gw-north')!.meters().length, 3);
  t.equal(errorCode(() => campus.removeMeter('gw-north', '4')), 'METER_NOT_FOUND');
  campus.removeGateway('gw-south');
  t.equal(campus.gateway('gw-south'), undefined);
  t.equal(campus.dormitory('d101')!.water, undefined, 'd101 keeps its electricity meter only');
  t.equal(campus.dormitory('d103'), undefined);
  t.same(campus.gateways().map((g) => g.gatewayId), ['gw-north']);
});
