import t from 'tap';
import { APPLIANCE_SIGNATURES } from '../../src/simulator/appliance.ts';
import { Prng } from '../../src/simulator/prng.ts';
import { RoomLoad, circuitIndex, furnishRoom } from '../../src/simulator/room-load.ts';
import { SLOT_MS, monthOfDay, seasonOfDay } from '../../src/simulator/usage-rhythm.ts';

const CHINA = 480;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Local midnight (UTC+8) of a calendar date, epoch ms. */
function localMidnight(isoDate: string): number {
  return Date.parse(`${isoDate}T00:00:00+08:00`);
}

/** Mean total draw (W) of `rooms` over [from, from + durationMs), slot by slot. */
function meanPowerW(rooms: readonly RoomLoad[], from: number, durationMs: number): number {
  let sumMw = 0;
  let slots = 0;
  for (let at = from; at < from + durationMs; at += SLOT_MS) {
    for (const room of rooms) {
      const s = room.sample(at);
      sumMw += s.powerMw[0]! + s.powerMw[1]! + s.powerMw[2]!;
    }
    slots++;
  }
  return sumMw / slots / 1000;
}

function furnishedRooms(count: number, seed: number): RoomLoad[] {
  return Array.from({ length: count }, (_, i) => {
    const room = new RoomLoad({ seed: seed * 1000 + i, utcOffsetMinutes: CHINA });
    furnishRoom(room, new Prng(seed * 1000 + i));
    return room;
  });
}

t.test('the evening draws more than 4 am, in every season', async (t) => {
  const rooms = furnishedRooms(20, 3);
  for (const date of ['2025-01-14', '2025-04-08', '2025-07-15', '2025-10-21']) {
    const midnight = localMidnight(date);
    const evening = meanPowerW(rooms, midnight + 20 * HOUR_MS, HOUR_MS);
    const night = meanPowerW(rooms, midnight + 4 * HOUR_MS, HOUR_MS);
    t.ok(evening > night * 1.5, `${date}: evening ${evening.toFixed(0)} W vs 4 am ${night.toFixed(0)} W`);
    t.ok(evening > 20 * 50, `${date}: a lived-in evening, ${evening.toFixed(0)} W for 20 rooms`);
  }
});

t.test('lights are on in the evening and off in the small hours', async (t) => {
  const rooms = furnishedRooms(20, 4);
  const midnight = localMidnight('2025-03-11');
  const lightingW = (from: number) => {
    let sum = 0;
    for (let at = from; at < from + HOUR_MS; at += SLOT_MS) for (const r of rooms) sum += r.sample(at).powerMw[circuitIndex('lighting')]!;
    return sum / 60 / 1000;
  };
  t.ok(lightingW(midnight + 21 * HOUR_MS) > 20 * 15, 'at least a lamp per room at 21:00');
  t.equal(lightingW(midnight + 3 * HOUR_MS), 0, 'dark at 03:00');
});

t.test('air conditioning follows the season: summer nights cool, spring nights do not', async (t) => {
  const rooms = furnishedRooms(20, 5);
  const acW = (from: number) => {
    let sum = 0;
    for (let at = from; at < from + HOUR_MS; at += SLOT_MS) for (const r of rooms) sum += r.sample(at).powerMw[circuitIndex('ac')]!;
    return sum / 60 / 1000;
  };
  const summer = acW(localMidnight('2025-07-15') + 2 * HOUR_MS);
  const spring = acW(localMidnight('2025-04-08') + 2 * HOUR_MS);
  t.ok(summer > 20 * 100, `summer 02:00: ${summer.toFixed(0)} W`);
  t.equal(spring, 20 * APPLIANCE_SIGNATURES.air_conditioner.standbyPowerW, 'spring 02:00: standby only');
});

t.test('a kettle draws exactly its rating on the circuit it is plugged into', async (t) => {
  const room = new RoomLoad({ seed: 1, utcOffsetMinutes: CHINA });
  const id = room.plug('kettle', 'socket');
  t.match(id, /^kettle-\d+$/);
  const s = room.sample(localMidnight('2025-07-15') + 4 * HOUR_MS);
  t.same(s.powerMw, [0, 1_800_000, 0]);
  t.same(s.reactiveVar, [0, 0, 0], 'power factor 1');
  t.ok(room.unplug(id));
  t.notOk(room.unplug(id), 'second unplug finds nothing');
  t.same(room.sample(localMidnight('2025-07-15') + 4 * HOUR_MS).powerMw, [0, 0, 0]);
});

t.test('signatures: a charger has PF 0.6, a laptop jitters around 60 W', async (t) => {
  const room = new RoomLoad({ seed: 2, utcOffsetMinutes: CHINA });
  room.plug('phone_charger', 'lighting');
  room.plug('laptop', 'socket');
  const seen = new Set<number>();
  const problems: string[] = [];
  for (let i = 0; i < 50; i++) {
    const s = room.sample(i * SLOT_MS);
    const chargerW = s.powerMw[0]! / 1000;
    const pf = chargerW / Math.hypot(chargerW, s.reactiveVar[0]!);
    if (Math.abs(pf - 0.6) > 1e-9) problems.push(`charger PF ${pf}`);
    if (chargerW < 8 || chargerW > 12) problems.push(`charger ${chargerW} W`);
    const laptopW = s.powerMw[1]! / 1000;
    if (laptopW < 45 || laptopW > 75) problems.push(`laptop ${laptopW} W`);
    if (!Number.isInteger(s.powerMw[1])) problems.push(`laptop ${s.powerMw[1]} mW is not an integer`);
    seen.add(s.powerMw[1]!);
  }
  t.same(problems, []);
  t.ok(seen.size > 20, 'jitter changes from slot to slot');
});

t.test('a continuously used air conditioner cycles its compressor and idles at standby', async (t) => {
  const room = new RoomLoad({ seed: 9, utcOffsetMinutes: CHINA });
  room.plug('air_conditioner', 'ac');
  const levels: number[] = [];
  for (let i = 0; i < 60; i++) levels.push(room.sample(i * SLOT_MS).powerMw[2]! / 1000);
  const running = levels.filter((w) => w > 800);
  const standby = levels.filter((w) => w === 5);
  t.equal(running.length + standby.length, 60, 'either compressor on or standby');
  t.equal(running.length, 36, '60% duty over three 20-minute cycles');
  let switches = 0;
  for (let i = 1; i < 60; i++) if ((levels[i]! > 800) !== (levels[i - 1]! > 800)) switches++;
  t.ok(switches >= 4, `compressor switches ${switches} times in an hour`);
});

t.test('the same seed furnishes and behaves the same; another seed differs', async (t) => {
  const profile = (seed: number) => {
    const [room] = furnishedRooms(1, seed);
    const start = localMidnight('2025-07-15');
    return Array.from({ length: 24 * 60 }, (_, i) => room!.sample(start + i * SLOT_MS).powerMw.join('/')).join(',');
  };
  t.equal(profile(11), profile(11));
  t.not(profile(11), profile(12));
});

t.test('onBeforeChange runs before the appliance set changes', async (t) => {
  const room = new RoomLoad({ seed: 1, utcOffsetMinutes: CHINA });
  const seen: number[] = [];
  const off = room.onBeforeChange(() => seen.push(room.appliances().length));
  const id = room.plug('lamp', 'lighting');
  room.unplug(id);
  off();
  room.plug('lamp', 'lighting');
  t.same(seen, [0, 1]);
});

t.test('calendar arithmetic matches Date for decades of days', async (t) => {
  for (let day = -400; day < 30_000; day += 7) {
    const expected = new Date(day * DAY_MS).getUTCMonth() + 1;
    if (monthOfDay(day) !== expected) t.fail(`day ${day}: ${monthOfDay(day)} != ${expected}`);
  }
  t.equal(seasonOfDay(Math.floor(localMidnight('2025-07-15') / DAY_MS) + 1), 'cooling');
  t.equal(seasonOfDay(Math.floor(Date.parse('2025-01-10') / DAY_MS)), 'heating');
});
