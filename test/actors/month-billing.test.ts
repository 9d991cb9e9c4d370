import { randomBytes } from 'node:crypto';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { quietRules, waitFor } from '../helpers/live-app.ts';
import { createTestApp } from '../helpers/test-app.ts';

const HOUR = 3_600_000;
const OFFSET = 8 * HOUR;
const TOU = { peakFrom: 8, peakTo: 22, peak: 60_000, valley: 30_000 }; // the demo tariff
const TIERS = [
  { upTo: 30_000, rate: 50_000 },
  { upTo: 80_000, rate: 70_000 },
  { upTo: Infinity, rate: 90_000 },
];
const QUOTA_WH = 10_000; // the demo's free quota, A-101 only

const localHour = (at: number) => new Date(at + OFFSET).getUTCHours();
const localMonth = (at: number) => new Date(at + OFFSET).toISOString().slice(0, 7);

/**
 * The expected bill, computed here independently of src/domain: a reading's delta is spread
 * linearly in time over the hours where the price can change (08:00, 22:00, a month's first
 * midnight), each piece priced at its start; then Σ usage x rate, one floor with the carry.
 */
class ExpectedBill {
  month = '';
  monthUsage = 0;
  free = 0;
  micro: bigint;
  constructor(
    readonly kind: 'tou' | 'tiered',
    carryMicro: number,
    month: string,
    monthUsage: number,
    free: number,
  ) {
    this.micro = BigInt(carryMicro);
    this.month = month;
    this.monthUsage = monthUsage;
    this.free = free;
  }

  addSpan(usage: number, from: number, to: number): void {
    const cuts: number[] = [];
    for (let at = from + HOUR; at < to; at += HOUR) {
      const h = localHour(at);
      if (h === TOU.peakFrom || h === TOU.peakTo || (h === 0 && new Date(at + OFFSET).getUTCDate() === 1)) cuts.push(at);
    }
    let given = 0;
    let start = from;
    for (const end of [...cuts, to]) {
      const upTo = end === to ? usage : Number((BigInt(usage) * BigInt(end - from)) / BigInt(to - from));
      this.add(upTo - given, start);
      given = upTo;
      start = end;
    }
  }

  add(usage: number, at: number): void {
    if (localMonth(at) > this.month) {
      this.month = localMonth(at);
      this.monthUsage = 0;
      this.free = this.kind === 'tou' ? QUOTA_WH : 0;
    }
    const free = Math.min(this.free, usage);
    this.free -= free;
    let rest = usage - free;
    let position = this.monthUsage + free;
    this.monthUsage += usage;
    if (this.kind === 'tou') {
      const h = localHour(at);
      this.micro += BigInt(rest) * BigInt(h >= TOU.peakFrom && h < TOU.peakTo ? TOU.peak : TOU.valley);
      return;
    }
    for (const tier of TIERS) {
      if (rest === 0) break;
      const room = Math.max(0, tier.upTo - position);
      const part = Math.min(room, rest);
      this.micro += BigInt(part) * BigInt(tier.rate);
      rest -= part;
      position += part;
    }
  }

  get amount(): number {
    return Number(this.micro / 1_000_000n);
  }
}

// Baseline: 2026-12-31 23:00 local; the catch-up since the seed is billed in December.
const START = Date.parse('2026-12-31T23:00:00+08:00');

t.test('a simulated month across TOU and tier boundaries bills exactly price x energy', async (t) => {
  const test = await createTestApp(t, {
    // A frozen clock at a fixed instant (not the wall clock): the seed and boot happen in the
    // evening of 2026-12-01: the month's catch-up uses December's free quota up before the
    // baseline. The test moves the clock across the New Year.
    clock: new SimulatedClock(START - 30 * 24 * HOUR, 0),
    env: {
      SIMULATE: 'true',
      SIMULATOR_SPEED: '0',
      POLL_INTERVAL_MS: '50',
      BILLING_POST_INTERVAL_MS: '0',
      LEDGER_FLUSH_MS: '20',
      // Opening balances of 500,000 yuan: above the default cap, a second finance user would have to approve.
      RECHARGE_APPROVAL_THRESHOLD_FEN: '100000000',
      MQTT_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}/campus`,
      ...(process.env.MQTT_URL ? { MQTT_URL: process.env.MQTT_URL } : {}),
    },
    // Only the two rooms under test (a bigger campus would only slow the ledger down).
    demoShape: { buildings: 1, floors: 1, roomsPerFloor: 2, occupantsPerRoom: 1 },
  });
  const { app, database } = test;
  const db = database.db;
  await db.insertInto('tariffs').values({ id: 'tiered-test', name: 'Tiered', purse: 'electricity', definition: JSON.stringify({ kind: 'tiered', tiers: TIERS.map((x) => ({ upTo: Number.isFinite(x.upTo) ? x.upTo : null, rate: x.rate })) }) }).execute();
  await db.updateTable('dormitories').set({ electricity_tariff_id: 'tiered-test', electricity_quota_id: null }).where('id', '=', 'A-102').execute();
  await app.start();
  const admin = await test.login('admin', 'test-admin-password');
  const live = { app, admin };
  await quietRules(live);
  for (const id of ['A-101', 'A-102']) {
    for (const purse of ['electricity', 'water']) {
      const r = await app.http.inject({ method: 'POST', url: `/api/dormitories/${id}/recharges`, headers: admin, payload: { amount: 50_000_000, purse, method: 'cash', reference: `month-${id}-${purse}` } });
      t.equal(r.statusCode, 201);
    }
  }
  const simulator = app.simulator!;
  const register = (id: string) => simulator.campus.dormitory(id)!.electric!.read() as { energyWh: number };
  const billedAt = async (id: string, at: number) => (await app.runtime.liveDormitory(id))?.lastReadingAt === at;
  const cursorOf = async (id: string) => (await db.selectFrom('billing_cursors').select('register').where('meter_id', '=', `M-${id}`).executeTakeFirst())?.register;
  /** Moves the frozen clock and waits until both meters have billed their registers at that instant. */
  const jump = async (at: number) => {
    simulator.setClock({ timeMs: at });
    await waitFor(`readings at ${new Date(at).toISOString()}`, async () => (await billedAt('A-101', at)) && (await billedAt('A-102', at)), 10_000, 10);
    await waitFor(`billed at ${new Date(at).toISOString()}`, async () => {
      await app.runtime.flush();
      return (await cursorOf('A-101')) === register('A-101').energyWh && (await cursorOf('A-102')) === register('A-102').energyWh;
    }, 10_000, 10);
  };
  const charged = async (meterId: string) =>
    Number((await db.selectFrom('ledger_entries').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('s')).where('meter_id', '=', meterId).where('kind', '=', 'consumption_charge').executeTakeFirstOrThrow()).s);

  const start = START;
  await jump(start);
  await app.runtime.flush();
  const baseline = new Map<string, { register: number; charged: number; bill: ExpectedBill }>();
  for (const [id, kind] of [['A-101', 'tou'], ['A-102', 'tiered']] as const) {
    const meterId = `M-${id}`;
    const cursor = await db.selectFrom('billing_cursors').select(['register', 'billing_state']).where('meter_id', '=', meterId).executeTakeFirstOrThrow();
    const state = cursor.billing_state as { carryMicro: number; monthKey: string; monthUsage: number; freeRemaining: number };
    t.equal(cursor.register, register(id).energyWh, `${id}: the cursor is at the meter's register`);
    baseline.set(id, { register: cursor.register, charged: await charged(meterId), bill: new ExpectedBill(kind, state.carryMicro, state.monthKey, state.monthUsage, state.freeRemaining) });
  }

  // 32 days in 3-hour steps: TOU periods, the month boundary, quota and tier resets.
  const previous = new Map([...baseline].map(([id, b]) => [id, b.register]));
  for (let at = start + 3 * HOUR; at <= start + 32 * 24 * HOUR; at += 3 * HOUR) {
    await jump(at);
    for (const [id, b] of baseline) {
      const now = register(id).energyWh;
      b.bill.addSpan(now - previous.get(id)!, at - 3 * HOUR, at);
      previous.set(id, now);
    }
  }
  await app.runtime.flush();
  for (const [id, b] of baseline) {
    const meterId = `M-${id}`;
    const energy = previous.get(id)! - b.register;
    const billed = b.charged - (await charged(meterId));
    t.ok(energy > 80_000, `${id} used ${energy} Wh over the month`);
    t.equal(billed, b.bill.amount, `${id}: billed ${billed} fen = price x energy to the fen`);
    const usage = Number((await db.selectFrom('ledger_entries').select((eb) => eb.fn.sum<number>('usage').as('u')).where('meter_id', '=', meterId).where('kind', '=', 'consumption_charge').where('occurred_at', '>', new Date(start)).executeTakeFirstOrThrow()).u);
    t.equal(usage, energy, `${id}: billed energy equals the register advance`);
  }
  const grants = await db.selectFrom('ledger_entries').select(['usage', 'occurred_at']).where('meter_id', '=', 'M-A-101').where('kind', '=', 'quota_grant').execute();
  t.ok(grants.some((g) => localMonth(new Date(g.occurred_at).getTime()) === '2027-02'), 'the February free quota was granted');
});
