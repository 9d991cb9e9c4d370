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

/**
 * A campus on Europe/Berlin across the autumn switch (2026-10-25, 25 hours) and the spring one
 * (2027-03-28, 23 hours): the check-out settlement splits the room's money by local day to the
 * fen, and the daily reconciliation of both switch days ties out to an independent sum of the
 * ledger. The local day of an instant is read here from Intl (nothing from src/domain; the split
 * is test/helpers/settlement-oracle.ts), and the
 * switch days' bounds are written out by hand.
 */
const BERLIN = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit' });
const berlinDay = (iso: string) => BERLIN.format(new Date(iso));
/** What the fixed offset of the day the zone was set (+02:00, summer) would call the day. */
const summerDay = (iso: string) => new Date(Date.parse(iso) + 2 * 3_600_000).toISOString().slice(0, 10);

t.test('Europe/Berlin: settlement across the autumn switch to the fen, and the reconciliation of a 25-hour and a 23-hour day', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const env = { ADMIN_PASSWORD, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', PORT: '0', HOST: '127.0.0.1' };
  const apps: App[] = [];
  t.teardown(async () => {
    for (const a of apps.reverse()) await a.stop().catch(() => undefined);
  });
  const call = (app: App, method: 'GET' | 'POST' | 'PATCH', url: string, headers: Record<string, string>, payload?: Record<string, unknown>) =>
    app.http.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const login = async (app: App, username: string, password: string) => {
    const r = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    t.equal(r.statusCode, 200, `${username} logs in`);
    return { authorization: `Bearer ${r.json<{ token: string }>().token}` };
  };

  // ---- The office, in summer time: the campus moves to Europe/Berlin, two students move in ----
  const office = await buildApp(loadConfig(env), { seedDemo: true, database, clock: new SimulatedClock(Date.parse('2026-10-23T07:00:00Z'), 0) });
  apps.push(office);
  let admin = await login(office, 'admin', ADMIN_PASSWORD);
  const db = database.db;
  const others = (await db.selectFrom('meters').select('id').where('dormitory_id', 'not in', ['A-101', 'A-102']).execute()).map((m) => m.id);
  await db.deleteFrom('circuits').where('meter_id', 'in', others).execute();
  await db.deleteFrom('meters').where('id', 'in', others).execute();
  const zone = await call(office, 'PATCH', '/api/campuses/demo/settings', admin, { timeZone: 'Europe/Berlin' });
  t.equal(zone.statusCode, 200, `the campus moves to Europe/Berlin (${zone.body})`);
  t.equal((await db.selectFrom('campuses').select('utc_offset_minutes').where('id', '=', 'demo').executeTakeFirstOrThrow()).utc_offset_minutes, 120, 'the stored fixed offset is the summer one: using it after the switch would cut days an hour early');
  t.equal((await call(office, 'POST', '/api/users', admin, { username: 'fin', password: 'finance-password', role: 'finance', displayName: 'Finance' })).statusCode, 201, 'a finance user');
  let finance = await login(office, 'fin', 'finance-password');
  for (const s of [
    { id: 'S1', name: 'Anna Vogel', college: 'Science', class: 'P-1' },
    { id: 'S2', name: 'Ben Kraus', college: 'Science', class: 'P-1' },
  ]) {
    t.equal((await call(office, 'POST', '/api/students', admin, { ...s, password: `${s.id}-password-x` })).statusCode, 201, `student ${s.id}`);
  }
  const seeded = (await db.selectFrom('occupants').select('student_number').where('dormitory_id', '=', 'A-101').execute()).map((r) => r.student_number);
  seeded.push((await db.selectFrom('occupants').select('student_number').where('dormitory_id', '=', 'A-102').where('bed', '=', 4).executeTakeFirstOrThrow()).student_number);
  for (const id of seeded) t.equal((await call(office, 'POST', `/api/students/${id}/check-out`, admin, {})).statusCode, 200, `seeded ${id} leaves`);
  for (const id of ['S1', 'S2']) t.equal((await call(office, 'POST', '/api/dormitories/A-101/check-ins', admin, { studentId: id })).statusCode, 201, `${id} checks in to A-101 on 2026-10-23`);
  const recharges: [string, 'electricity' | 'water', number, string | undefined][] = [
    ['r-s1', 'electricity', 20_000, 'S1'],
    ['r-s2', 'electricity', 5_000, 'S2'],
    ['w-s1', 'water', 1_500, 'S1'],
  ];
  for (const [reference, purse, amount, studentId] of recharges) {
    t.equal((await call(office, 'POST', '/api/dormitories/A-101/recharges', finance, { amount, purse, method: 'cash', reference, ...(studentId ? { studentId } : {}) })).statusCode, 201, `finance records ${reference}`);
  }
  await office.stop();

  // ---- Restart with the simulated campus on the frozen, injected clock ----
  const clock = new SimulatedClock(Date.parse('2026-10-23T08:00:00Z'), 0);
  const app = await buildApp(
    loadConfig({ ...env, SIMULATE: 'true', SIMULATOR_SPEED: '0', POLL_INTERVAL_MS: '50', BILLING_POST_INTERVAL_MS: '0', LEDGER_FLUSH_MS: '20', MQTT_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}/campus`, ...(process.env.MQTT_URL ? { MQTT_URL: process.env.MQTT_URL } : {}) }),
    { database, clock },
  );
  apps.push(app);
  await app.start();
  admin = await login(app, 'admin', ADMIN_PASSWORD);
  finance = await login(app, 'fin', 'finance-password');
  await quietRules({ app, admin });
  const simulator = app.simulator!;
  const register = (id: string) => (simulator.campus.dormitory(id)!.electric!.read() as { energyWh: number }).energyWh;
  const cursor = async (id: string) => (await db.selectFrom('billing_cursors').select('register').where('meter_id', '=', `M-${id}`).executeTakeFirst())?.register;
  /** Moves the frozen clock to `iso` (UTC) and waits until A-101's reading there is billed and committed. */
  const jump = async (iso: string, timeoutMs = 30_000) => {
    const when = Date.parse(iso);
    simulator.setClock({ timeMs: when });
    await waitFor(`A-101 read at ${iso}`, async () => (await app.runtime.liveDormitory('A-101'))?.lastReadingAt === when, timeoutMs, 10);
    await waitFor(`A-101 billed at ${iso}`, async () => {
      await app.runtime.flush();
      return (await cursor('A-101')) === register('A-101');
    }, timeoutMs, 10);
  };
  const ledger = async (): Promise<Entry[]> => (await call(app, 'GET', '/api/dormitories/A-101/ledger?pageSize=500', finance)).json<{ items: Entry[] }>().items;
  const stays = async () =>
    (await call(app, 'GET', '/api/dormitories/A-101/occupancies', admin))
      .json<{ items: { id: number; studentId: string; fromDay: string; toDay: string | null }[] }>()
      .items.filter((s) => s.studentId === 'S1' || s.studentId === 'S2')
      .sort((a, b) => a.id - b.id)
      .map((s) => ({ student: s.studentId, from: s.fromDay, to: s.toDay }));
  const recharge = async (reference: string, amount: number, purse: 'electricity' | 'water' = 'electricity') =>
    t.equal((await call(app, 'POST', '/api/dormitories/A-101/recharges', finance, { amount, purse, method: 'cash', reference })).statusCode, 201, `shared recharge ${reference} at ${new Date(clock.now()).toISOString()}`);

  // Consumption and shared money around the local midnights of the switch weekend.
  await jump('2026-10-24T10:00:00Z');
  await jump('2026-10-24T21:30:00Z'); // 23:30 CEST on the 24th
  await jump('2026-10-24T22:30:00Z'); // 00:30 CEST on the 25th
  await jump('2026-10-25T00:30:00Z'); // 02:30 CEST, the first pass
  await jump('2026-10-25T01:30:00Z'); // 02:30 CET, the second pass: still the 25th
  await recharge('shared-fold', 333);
  await jump('2026-10-25T22:30:00Z'); // 23:30 CET on the 25th (00:30 on the 26th at the summer offset)
  await recharge('shared-late-25th', 777);
  await jump('2026-10-25T23:30:00Z'); // 00:30 CET on the 26th
  await jump('2026-10-26T10:00:00Z');
  const before = await ledger();
  t.ok(before.some((e) => e.purse === 'electricity' && e.kind === 'consumption_charge' && berlinDay(e.occurredAt) === '2026-10-25' && summerDay(e.occurredAt) === '2026-10-26'), 'a charge of the 25th that a fixed summer offset would put on the 26th');

  // ---- S1 moves out to A-102 on the 26th: the 25th (25 hours) was S1's last day ----
  await app.runtime.flush();
  const s1Stays = (await stays()).map((s) => (s.student === 'S1' ? { ...s, to: '2026-10-26' } : s));
  const exchanged = await call(app, 'POST', '/api/students/S1/exchange', admin, { toDormitoryId: 'A-102' });
  t.equal(exchanged.statusCode, 200, exchanged.body);
  for (const settled of exchanged.json<{ settlements: Settlement[] }>().settlements) {
    const contributions = recharges.filter(([, p, , s]) => p === settled.purse && s === 'S1').reduce((sum, [, , amount]) => sum + amount, 0);
    const expected = oracle(before, settled.purse, s1Stays, 'S1', contributions, berlinDay);
    t.equal(settled.days, 3, `S1 ${settled.purse}: 23rd, 24th and the 25-hour 25th are three days`);
    t.equal(settled.equityFen, expected, `S1 ${settled.purse}: equity ${settled.equityFen} fen = the independent computation on Berlin's days`);
    t.equal(settled.amountFen, Math.abs(expected), `S1 ${settled.purse}: amount`);
  }

  // ---- S2 alone for a day, then out on the 27th ----
  await jump('2026-10-26T22:30:00Z');
  await jump('2026-10-27T08:00:00Z');
  await app.runtime.flush();
  const beforeOut = await ledger();
  const s2Stays = (await stays()).map((s) => (s.student === 'S2' ? { ...s, to: '2026-10-27' } : s));
  const out = await call(app, 'POST', '/api/students/S2/check-out', admin, {});
  t.equal(out.statusCode, 200, out.body);
  for (const settled of out.json<{ settlements: Settlement[] }>().settlements) {
    const contributions = recharges.filter(([, p, , s]) => p === settled.purse && s === 'S2').reduce((sum, [, , amount]) => sum + amount, 0);
    t.equal(settled.equityFen, oracle(beforeOut, settled.purse, s2Stays, 'S2', contributions, berlinDay), `S2 ${settled.purse}: equity = the independent computation`);
  }

  // ---- Spring: 2027-03-28 has 23 hours (months of billing and monthly bills on the way) ----
  await jump('2027-01-15T12:00:00Z', 120_000);
  await jump('2027-03-27T12:00:00Z', 120_000);
  await jump('2027-03-27T22:30:00Z'); // 23:30 CET on the 27th
  await recharge('spring-27th', 1_111);
  await jump('2027-03-28T21:30:00Z'); // 23:30 CEST on the 28th
  await recharge('spring-28th', 2_222);
  await jump('2027-03-28T22:30:00Z'); // 00:30 CEST on the 29th (23:30 on the 28th at the winter offset)
  await recharge('spring-29th', 4_444);
  await app.runtime.flush();

  // ---- The daily reconciliation of both switch days against an independent sum ----
  const rows = await db.selectFrom('ledger_entries as l').innerJoin('dormitories as d', 'd.id', 'l.dormitory_id').select(['d.building_id', 'l.purse', 'l.kind', 'l.amount', 'l.occurred_at']).execute();
  const days = [
    { date: '2026-10-25', from: '2026-10-24T22:00:00.000Z', to: '2026-10-25T23:00:00.000Z', recharged: 333 + 777 },
    { date: '2027-03-28', from: '2027-03-27T23:00:00.000Z', to: '2027-03-28T22:00:00.000Z', recharged: 2_222 },
  ];
  for (const day of days) {
    const response = await call(app, 'GET', `/api/reports/reconciliation?date=${day.date}`, finance);
    t.equal(response.statusCode, 200, `the reconciliation of ${day.date} is served`);
    const report = response.json<{ campuses: { from: string; to: string; timeZone: string }[]; lines: { building: string; purse: string; opening: number; recharges: number; charges: number; closing: number }[]; tiesOut: boolean }>();
    t.match(report.campuses, [{ from: day.from, to: day.to, timeZone: 'Europe/Berlin' }], `${day.date} runs from local midnight to local midnight (${(Date.parse(day.to) - Date.parse(day.from)) / 3_600_000} h)`);
    t.ok(report.tiesOut, `${day.date} ties out`);
    const from = Date.parse(day.from);
    const to = Date.parse(day.to);
    for (const line of report.lines) {
      const mine = rows.filter((r) => r.building_id === line.building && r.purse === line.purse);
      const sum = (pick: (r: (typeof rows)[number]) => boolean) => mine.filter(pick).reduce((s, r) => s + r.amount, 0);
      const at = (r: (typeof rows)[number]) => new Date(r.occurred_at).getTime();
      t.equal(line.opening, sum((r) => at(r) < from), `${day.date} ${line.building} ${line.purse}: opening = the ledger before ${day.from}`);
      t.equal(line.closing, sum((r) => at(r) < to), `${day.date} ${line.building} ${line.purse}: closing = the ledger before ${day.to}`);
      t.equal(line.recharges, sum((r) => r.kind === 'recharge' && at(r) >= from && at(r) < to), `${day.date} ${line.building} ${line.purse}: recharges of the day`);
      t.equal(line.charges, -sum((r) => (r.kind === 'consumption_charge' || r.kind === 'quota_grant') && at(r) >= from && at(r) < to), `${day.date} ${line.building} ${line.purse}: charges of the day`);
    }
    const a = report.lines.find((l) => l.building === 'BA' && l.purse === 'electricity');
    t.equal(a?.recharges, day.recharged, `${day.date}: exactly the shared recharges made on that local day`);
  }

  await app.runtime.flush();
  const check = await reconcile(db);
  t.ok(check.ok, `reconcile stays clean (${check.lines.at(-1)})`);
});
