import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * The tariff dry-run (issue 10) against an independent re-pricing written here (no src/domain):
 * recorded 15-minute interval readings of two meters in one room and one in another, across a
 * month end and a version change of the tariff, with a free quota and tiers; nothing is billed.
 */
const HOUR = 3_600_000;
const INTERVAL = 15 * 60_000;
const OFFSET = 8 * HOUR; // Asia/Shanghai, UTC+8
const local = (iso: string) => Date.parse(`${iso}+08:00`);
const V2_FROM = local('2026-12-01T00:00:00');
const tou = (peak: number, valley: number) => ({ kind: 'time_of_use', periods: [{ name: 'peak', from: '08:00', to: '22:00', rate: peak }, { name: 'valley', from: '22:00', to: '08:00', rate: valley }] });
const DRAFT = { kind: 'tiered', tiers: [{ upTo: 20_000, rate: 40_000 }, { upTo: null, rate: 90_000 }] };
const QUOTA = 3_000;

/** The oracle: quota first, then the rate of the interval's local hour (TOU, by version) or its tier position. */
function oracle(intervals: readonly { start: number; usage: number }[], from: number, allowance: number, price: (start: number, position: number, units: number) => bigint): number {
  const monthOf = (at: number) => new Date(at + OFFSET).toISOString().slice(0, 7);
  let month = monthOf(from);
  const earlier = intervals.filter((i) => i.start < from && monthOf(i.start) === month).reduce((s, i) => s + i.usage, 0);
  let position = earlier;
  let free = Math.max(0, allowance - earlier);
  let micro = 0n;
  for (const i of intervals.filter((x) => x.start >= from)) {
    if (monthOf(i.start) !== month) {
      month = monthOf(i.start);
      position = 0;
      free = allowance;
    }
    const freeUsed = Math.min(free, i.usage);
    free -= freeUsed;
    position += freeUsed;
    const billed = i.usage - freeUsed;
    micro += price(i.start, position, billed);
    position += billed;
  }
  return Number(micro / 1_000_000n);
}
const touPrice = (start: number, _position: number, units: number): bigint => {
  const hour = new Date(start + OFFSET).getUTCHours();
  const peak = hour >= 8 && hour < 22;
  const rate = start >= V2_FROM ? (peak ? 70_000 : 30_000) : peak ? 60_000 : 30_000;
  return BigInt(units) * BigInt(rate);
};
const tierPrice = (_start: number, position: number, units: number): bigint => {
  const inFirst = Math.max(0, Math.min(units, 20_000 - position));
  return BigInt(inFirst) * 40_000n + BigInt(units - inFirst) * 90_000n;
};

t.test('a dry-run re-prices recorded intervals under a draft, per dormitory and in total, and bills nothing', async (t) => {
  const test = await createTestApp(t, { seedDemo: false });
  const db = test.database.db;
  // Deterministic usage: two meters in D-1, one in D-2, a water meter in D-1 (not electricity), D-3 on another tariff.
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  const start = local('2026-11-20T00:00:00');
  const end = local('2026-12-06T00:00:00');
  const rows: { meter_id: string; channel: string; interval_start: Date; usage: number; max_power_w: number; register_end: number }[] = [];
  for (let at = start; at < end; at += INTERVAL) {
    for (const [meter, channel] of [['M-1', 'main'], ['M-1b', 'main'], ['M-2', 'main'], ['W-1', 'water'], ['M-3', 'main']] as const) {
      const usage = next() % 400;
      if (usage > 0) rows.push({ meter_id: meter, channel, interval_start: new Date(at), usage, max_power_w: 0, register_end: 0 });
    }
  }
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'c', name: 'Campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values([{ id: 'B', campus_id: 'c', name: 'B', floors: 2 }]).execute();
    await trx
      .insertInto('tariffs')
      .values([
        { id: 'tou', name: 'TOU', purse: 'electricity', definition: JSON.stringify(tou(60_000, 30_000)) },
        { id: 'other', name: 'Other', purse: 'electricity', definition: JSON.stringify({ kind: 'single', rate: 1 }) },
      ])
      .execute();
    await trx.insertInto('tariff_versions').values({ tariff_id: 'tou', version: 2, effective_from: new Date(V2_FROM), definition: JSON.stringify(tou(70_000, 30_000)), created_by: 'seed' }).execute();
    await trx.insertInto('free_quota_policies').values({ id: 'q', name: '3 kWh', purse: 'electricity', allowance: QUOTA }).execute();
    await trx.insertInto('gateways').values({ id: 'GW', campus_id: 'c', protocol: 'mqtt', address: 'GW' }).execute();
    await trx
      .insertInto('dormitories')
      .values([
        { id: 'D-1', building_id: 'B', floor: 1, room: '101', electricity_tariff_id: 'tou', electricity_quota_id: 'q' },
        { id: 'D-2', building_id: 'B', floor: 1, room: '102', electricity_tariff_id: 'tou' },
        { id: 'D-3', building_id: 'B', floor: 2, room: '201', electricity_tariff_id: 'other' },
      ])
      .execute();
    await trx
      .insertInto('meters')
      .values([
        { id: 'M-1', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '1' },
        { id: 'M-1b', dormitory_id: 'D-1', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '2' },
        { id: 'W-1', dormitory_id: 'D-1', kind: 'water', profile: 'water-valve', gateway_id: 'GW', unit_address: 'w1' },
        { id: 'M-2', dormitory_id: 'D-2', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '3' },
        { id: 'M-3', dormitory_id: 'D-3', kind: 'electric', profile: 'sdm120', gateway_id: 'GW', unit_address: '4' },
      ])
      .execute();
    for (let i = 0; i < rows.length; i += 1000) await trx.insertInto('interval_readings').values(rows.slice(i, i + 1000)).execute();
  });
  const finance = await test.as('finance');
  const from = local('2026-11-25T10:00:00');
  const to = local('2026-12-05T00:00:00');
  const ledgerBefore = await db.selectFrom('ledger_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();

  const response = await test.app.http.inject({ method: 'POST', url: '/api/tariffs/tou/dry-run', headers: finance, payload: { definition: DRAFT, from: new Date(from).toISOString(), to: new Date(to).toISOString() } });
  t.equal(response.statusCode, 200, response.body);
  const report = response.json<{ dormitories: { dormitoryId: string; usage: number; oldCharge: number; newCharge: number; difference: number }[]; total: { usage: number; oldCharge: number; newCharge: number; difference: number } }>();

  const expected = (meters: readonly string[], allowance: number) => {
    const byStart = new Map<number, number>();
    for (const r of rows) if (meters.includes(r.meter_id) && r.interval_start.getTime() < to) byStart.set(r.interval_start.getTime(), (byStart.get(r.interval_start.getTime()) ?? 0) + r.usage);
    const intervals = [...byStart].map(([s, usage]) => ({ start: s, usage })).sort((a, b) => a.start - b.start);
    const oldCharge = oracle(intervals, from, allowance, touPrice);
    const newCharge = oracle(intervals, from, allowance, tierPrice);
    return { usage: intervals.filter((i) => i.start >= from).reduce((s, i) => s + i.usage, 0), oldCharge, newCharge, difference: newCharge - oldCharge };
  };
  const d1 = expected(['M-1', 'M-1b'], QUOTA);
  const d2 = expected(['M-2'], 0);
  t.same(report.dormitories, [{ dormitoryId: 'D-1', ...d1 }, { dormitoryId: 'D-2', ...d2 }], 'per dormitory (those the tariff prices), both meters of D-1 with one quota, water not counted: as the independent re-pricing');
  t.same(report.total, { usage: d1.usage + d2.usage, oldCharge: d1.oldCharge + d2.oldCharge, newCharge: d1.newCharge + d2.newCharge, difference: d1.difference + d2.difference }, 'the total');
  t.ok(d1.oldCharge > 0 && d1.newCharge !== d1.oldCharge, 'the case is not trivial');

  const floor2 = await test.app.http.inject({ method: 'POST', url: '/api/tariffs/tou/dry-run', headers: finance, payload: { definition: DRAFT, from: new Date(from).toISOString(), to: new Date(to).toISOString(), scope: { building: 'B', floor: 2 } } });
  t.same(floor2.json<{ dormitories: { dormitoryId: string }[] }>().dormitories.map((d) => d.dormitoryId), ['D-3'], 'a scope by building and floor');
  const bad = await test.app.http.inject({ method: 'POST', url: '/api/tariffs/tou/dry-run', headers: finance, payload: { definition: { kind: 'tiered', tiers: [] }, from: new Date(from).toISOString() } });
  t.equal(bad.statusCode, 400, 'an invalid draft is refused');
  t.match(bad.json().error.field, /^definition/, 'naming the draft');
  const inverted = await test.app.http.inject({ method: 'POST', url: '/api/tariffs/tou/dry-run', headers: finance, payload: { definition: DRAFT, from: new Date(to).toISOString(), to: new Date(from).toISOString() } });
  t.equal(inverted.json().error.field, 'to', 'a period that ends before it starts names `to`');
  const ledgerAfter = await db.selectFrom('ledger_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(ledgerAfter.n), Number(ledgerBefore.n), 'nothing is billed');
  const versions = await db.selectFrom('tariff_versions').select('version').where('tariff_id', '=', 'tou').execute();
  t.equal(versions.length, 1, 'the draft is not saved');
});
