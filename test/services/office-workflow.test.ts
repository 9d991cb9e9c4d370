import { randomBytes } from 'node:crypto';
import t from 'tap';
import { buildApp, type App } from '../../src/app.ts';
import { SimulatedClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { reconcile } from '../../src/services/reconcile.service.ts';
import { quietRules, waitFor } from '../helpers/live-app.ts';
import { ADMIN_PASSWORD } from '../helpers/test-app.ts';
import { createTestDatabase } from '../helpers/test-database.ts';
import { expectedEquity as oracle, type LedgerEntryView as Entry, type SettlementView as Settlement } from '../helpers/settlement-oracle.ts';

const HOUR = 3_600_000;
const at = (local: string) => Date.parse(`${local}+08:00`);
const localDay = (iso: string) => new Date(Date.parse(iso) + 8 * HOUR).toISOString().slice(0, 10);

t.test('the office workflow over REST: users, students, check-in, recharge, consume, restart, exchange, check-out, settled to the fen', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const env = { ADMIN_PASSWORD, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', PORT: '0', HOST: '127.0.0.1' };
  const apps: App[] = [];
  t.teardown(async () => {
    for (const a of apps.reverse()) await a.stop().catch(() => undefined);
  });

  // ---- Part 1: the office, before any meter is read (no actors running yet) ----
  const officeClock = new SimulatedClock(at('2026-12-01T09:00:00'), 0);
  const office = await buildApp(loadConfig(env), { seedDemo: true, database, clock: officeClock });
  apps.push(office);
  const call = (app: App, method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: Record<string, unknown>) =>
    app.http.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const login = async (app: App, username: string, password: string) => {
    const r = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    t.equal(r.statusCode, 200, `${username} logs in`);
    return { authorization: `Bearer ${r.json<{ token: string }>().token}` };
  };
  let admin = await login(office, 'admin', ADMIN_PASSWORD);
  // Keep the campus small: only are metered.
  const db = database.db;
  const others = (await db.selectFrom('meters').select('id').where('dormitory_id', 'not in', ['A-101', 'A-102']).execute()).map((m) => m.id);
  await db.deleteFrom('circuits').where('meter_id', 'in', others).execute();
  await db.deleteFrom('meters').where('id', 'in', others).execute();

  t.equal((await call(office, 'POST', '/api/users', admin, { username: 'fin', password: 'finance-password', role: 'finance', displayName: 'Finance desk' })).statusCode, 201, 'a finance user is created');
  let finance = await login(office, 'fin', 'finance-password');
  for (const s of [
    { id: 'S1', name: 'Zhou Min', college: 'Science', class: 'P-1' },
    { id: 'S2', name: 'Wu Lei', college: 'Science', class: 'P-1' },
  ]) {
    t.equal((await call(office, 'POST', '/api/students', admin, { ...s, password: `${s.id}-password-x` })).statusCode, 201, `student ${s.id} opened`);
  }
  // The demo's occupants leave A-101 (and one leaves A-102) the day they arrived: no days, nothing moves.
  const seeded = (await db.selectFrom('occupants').select('student_number').where('dormitory_id', '=', 'A-101').execute()).map((r) => r.student_number);
  seeded.push((await db.selectFrom('occupants').select('student_number').where('dormitory_id', '=', 'A-102').where('bed', '=', 4).executeTakeFirstOrThrow()).student_number);
  for (const id of seeded) {
    const out = await call(office, 'POST', `/api/students/${id}/check-out`, admin, {});
    t.equal(out.statusCode, 200, `seeded ${id} checks out`);
    t.ok(out.json<{ settlements: Settlement[] }>().settlements.every((s) => s.direction === 'none'), 'a zero-day stay moves no money');
  }
  for (const id of ['S1', 'S2']) t.equal((await call(office, 'POST', '/api/dormitories/A-101/check-ins', admin, { studentId: id })).statusCode, 201, `${id} checks in to A-101`);
  const recharges: [string, 'electricity' | 'water', number, string | undefined][] = [
    ['r-s1', 'electricity', 30_000, 'S1'],
    ['r-s2', 'electricity', 10_000, 'S2'],
    ['r-anon', 'electricity', 4_001, undefined],
    ['w-s2', 'water', 2_000, 'S2'],
  ];
  for (const [reference, purse, amount, studentId] of recharges) {
    const r = await call(office, 'POST', '/api/dormitories/A-101/recharges', finance, { amount, purse, method: 'cash', reference, ...(studentId ? { studentId } : {}) });
    t.equal(r.statusCode, 201, `finance records ${reference}`);
  }
  await office.stop();

  // ---- Restart: a new process on the same database, with the simulated campus ----
  const prefix = `t${randomBytes(4).toString('hex')}/campus`;
  const clock = new SimulatedClock(at('2026-12-01T10:00:00'), 0);
  const app = await buildApp(
    loadConfig({ ...env, SIMULATE: 'true', SIMULATOR_SPEED: '0', POLL_INTERVAL_MS: '50', BILLING_POST_INTERVAL_MS: '0', LEDGER_FLUSH_MS: '20', MQTT_TOPIC_PREFIX: prefix, ...(process.env.MQTT_URL ? { MQTT_URL: process.env.MQTT_URL } : {}) }),
    { database, clock },
  );
  apps.push(app);
  await app.start();
  admin = await login(app, 'admin', ADMIN_PASSWORD);
  finance = await login(app, 'fin', 'finance-password');
  await quietRules({ app, admin });
  const s2 = await login(app, 'S2', 'S2-password-x');
  const mine = await call(app, 'GET', '/api/students/S2', s2);
  t.match(mine.json(), { dormitoryId: 'A-101', stays: [{ dormitoryId: 'A-101', fromDay: '2026-12-01', toDay: null }] }, 'occupancy survived the restart');

  const simulator = app.simulator!;
  const register = (id: string) => (simulator.campus.dormitory(id)!.electric!.read() as { energyWh: number }).energyWh;
  const cursor = async (id: string) => (await db.selectFrom('billing_cursors').select('register').where('meter_id', '=', `M-${id}`).executeTakeFirst())?.register;
  /** Moves the frozen clock and waits until A-101's reading at that instant is billed and committed. */
  const jump = async (local: string) => {
    const when = at(local);
    simulator.setClock({ timeMs: when });
    await waitFor(`A-101 read at ${local}`, async () => (await app.runtime.liveDormitory('A-101'))?.lastReadingAt === when, 20_000, 10);
    await waitFor(`A-101 billed at ${local}`, async () => {
      await app.runtime.flush();
      return (await cursor('A-101')) === register('A-101');
    }, 20_000, 10);
  };
  const ledger = async (): Promise<Entry[]> => {
    const r = await call(app, 'GET', '/api/dormitories/A-101/ledger?pageSize=500', finance);
    return r.json<{ items: Entry[] }>().items;
  };
  const liveBalance = async () => (await call(app, 'GET', '/api/dormitories/A-101', admin)).json<{ balance: { electricity: number; water: number } }>().balance;
  const stays = async () =>
    (await call(app, 'GET', '/api/dormitories/A-101/occupancies', admin))
      .json<{ items: { id: number; studentId: string; fromDay: string; toDay: string | null }[] }>()
      .items.filter((s) => s.studentId === 'S1' || s.studentId === 'S2')
      .sort((a, b) => a.id - b.id)
      .map((s) => ({ student: s.studentId, from: s.fromDay, to: s.toDay }));

  await jump('2026-12-01T20:00:00');
  await jump('2026-12-02T12:00:00');
  await jump('2026-12-02T23:30:00');
  await jump('2026-12-03T12:00:00');
  const consumed = (await ledger()).filter((e) => e.kind === 'consumption_charge' && e.purse === 'electricity');
  t.ok(new Set(consumed.map((e) => localDay(e.occurredAt))).size >= 3, 'electricity was consumed on three days');

  // ---- Exchange on 12-03: S1 leaves A-101 after two shared days ----
  await app.runtime.flush();
  const beforeExchange = await liveBalance();
  const stayView = await stays();
  const entriesBefore = await ledger();
  const exchanged = await call(app, 'POST', '/api/students/S1/exchange', admin, { toDormitoryId: 'A-102' });
  t.equal(exchanged.statusCode, 200, exchanged.body);
  const s1Settlements = exchanged.json<{ settlements: Settlement[] }>().settlements;
  const s1Stays = stayView.map((s) => (s.student === 'S1' ? { ...s, to: '2026-12-03' } : s));
  for (const purse of ['electricity', 'water'] as const) {
    const contributions = recharges.filter(([, p, , s]) => p === purse && s === 'S1').reduce((sum, [, , amount]) => sum + amount, 0);
    const expected = oracle(entriesBefore, purse, s1Stays, 'S1', contributions, localDay);
    const settled = s1Settlements.find((s) => s.purse === purse)!;
    t.equal(settled.equityFen, expected, `S1 ${purse}: equity ${settled.equityFen} fen = the independent computation`);
    t.equal(settled.amountFen, Math.abs(expected), `S1 ${purse}: amount`);
    t.equal(settled.direction, expected > 0 ? 'refund' : expected < 0 ? 'charge' : 'none', `S1 ${purse}: direction`);
  }
  const s1Electricity = s1Settlements.find((s) => s.purse === 'electricity')!;
  t.equal(s1Electricity.direction, 'refund', 'S1 paid more than their share: refunded');
  const afterExchange = await liveBalance();
  t.equal(afterExchange.electricity, beforeExchange.electricity - s1Electricity.amountFen, 'the live dormitory actor’s balance shows the refund at once');
  const refundEntry = (await ledger()).find((e) => e.id === s1Electricity.ledgerEntryId)!;
  t.match(refundEntry, { kind: 'refund', amount: -s1Electricity.amountFen, details: { studentId: 'S1' } }, 'a refund ledger entry on the dormitory account');
  const forFinance = await call(app, 'GET', '/api/settlements?studentId=S1&direction=refund', finance);
  t.equal(forFinance.json<{ total: number }>().total, s1Settlements.filter((s) => s.direction === 'refund').length, 'finance sees the refund records');

  // ---- Two more days for S2 alone, then check-out on 12-05 ----
  await jump('2026-12-04T12:00:00');
  await jump('2026-12-05T09:00:00');
  await app.runtime.flush();
  const beforeOut = await liveBalance();
  const entriesBeforeOut = await ledger();
  const stayViewOut = await stays();
  const out = await call(app, 'POST', '/api/students/S2/check-out', admin, {});
  t.equal(out.statusCode, 200, out.body);
  const s2Settlements = out.json<{ settlements: Settlement[] }>().settlements;
  const s2Stays = stayViewOut.map((s) => (s.student === 'S2' ? { ...s, to: '2026-12-05' } : s));
  let moved = { electricity: 0, water: 0 };
  for (const purse of ['electricity', 'water'] as const) {
    const contributions = recharges.filter(([, p, , s]) => p === purse && s === 'S2').reduce((sum, [, , amount]) => sum + amount, 0);
    const expected = oracle(entriesBeforeOut, purse, s2Stays, 'S2', contributions, localDay);
    const settled = s2Settlements.find((s) => s.purse === purse)!;
    t.equal(settled.equityFen, expected, `S2 ${purse}: equity ${settled.equityFen} fen = the independent computation`);
    t.equal(settled.contributionsFen, contributions, `S2 ${purse}: contributions survived the restart`);
    moved = { ...moved, [purse]: settled.direction === 'refund' ? -settled.amountFen : settled.direction === 'charge' ? settled.amountFen : 0 };
  }
  const afterOut = await liveBalance();
  t.same(afterOut, { electricity: beforeOut.electricity + moved.electricity, water: beforeOut.water + moved.water }, 'both live purses follow the settlement');

  await app.runtime.flush();
  const report = await reconcile(db);
  t.ok(report.ok, `reconcile stays clean (${report.lines.at(-1)})`);
  const cached = await db.selectFrom('accounts').select(['purse', 'balance']).where('dormitory_id', '=', 'A-101').execute();
  t.same(Object.fromEntries(cached.map((c) => [c.purse, c.balance])), await liveBalance(), 'the live balances equal the ledger');
});
