import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { SimulatedWaterMeter, waterDemandMlPerMin } from '../../src/simulator/simulated-water-meter.ts';
import { SLOT_MS } from '../../src/simulator/usage-rhythm.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const START = Date.parse('2025-09-01T00:00:00+08:00');

function setup(seed = 1, initialVolumeL = 0) {
  const clock = new SimulatedClock(START, 0);
  const meter = new SimulatedWaterMeter({ unitAddress: 'w1', clock, seed, utcOffsetMinutes: 480, initialVolumeL });
  return { clock, meter };
}

t.test('water flows through an open valve, about a room-day of it', async (t) => {
  const { clock, meter } = setup(1, 500);
  t.same(meter.read(), { type: 'water', unitAddress: 'w1', at: START, volumeL: 500, valveOpen: true });
  clock.advance(7 * DAY_MS);
  const used = meter.read().volumeL - 500;
  t.ok(used > 7 * 80 && used < 7 * 400, `a week of use: ${used} L`);
});

t.test('a closed valve stops the flow; opening it resumes', async (t) => {
  const { clock, meter } = setup(2);
  clock.advance(DAY_MS);
  const before = meter.read().volumeL;
  t.ok(before > 0);
  meter.setSupply('valve', false);
  t.equal(meter.valveOpen, false);
  clock.advance(3 * DAY_MS);
  const closed = meter.read();
  t.equal(closed.volumeL, before, 'not a litre through a closed valve');
  t.equal(closed.valveOpen, false);
  t.equal(meter.flowLitresPerMinute(), 0);
  meter.setSupply('valve', true);
  clock.advance(DAY_MS);
  t.ok(meter.read().volumeL > before, 'flowing again');
});

t.test('mornings and late evenings use water, the small hours almost none', async (t) => {
  let morning = 0;
  let night = 0;
  for (let seed = 0; seed < 50; seed++) {
    for (let day = 0; day < 10; day++) {
      const midnightSlot = (START + day * DAY_MS) / SLOT_MS;
      for (let m = 0; m < 60; m++) {
        morning += waterDemandMlPerMin(seed, midnightSlot + 7 * 60 + m, 480);
        night += waterDemandMlPerMin(seed, midnightSlot + 3 * 60 + m, 480);
      }
    }
  }
  t.ok(morning > 10 * night, `07-08: ${morning / 1000} L, 03-04: ${night / 1000} L over 500 room-days`);
});

t.test('the register does not depend on how often it is read, and is seeded', async (t) => {
  const often = setup(3);
  const once = setup(3);
  for (let i = 0; i < 2 * 24 * 60; i++) {
    often.clock.advance(SLOT_MS - 1);
    often.meter.read();
  }
  once.clock.jumpTo(often.clock.now());
  t.same(often.meter.read(), once.meter.read());
  const other = setup(4);
  other.clock.jumpTo(often.clock.now());
  t.not(other.meter.read().volumeL, once.meter.read().volumeL, 'another seed, another room');
});

t.test('a water meter has a valve and nothing else', async (t) => {
  const { meter } = setup();
  t.same(meter.supplyTargets, ['valve']);
  t.throws(() => meter.setSupply('main', false), RangeError);
  t.throws(() => meter.setSupply('socket', false), RangeError);
});
