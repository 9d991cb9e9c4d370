import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { DEMO_CAMPUS_SHAPE } from '../../src/services/demo-campus.seed.ts';
import { getDormitory, startLiveApp, waitFor } from '../helpers/live-app.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * Ranked lists and the arrears list (issue 11) against a hand computation on a fixed history,
 * and a real arrears cut by the running dormitory. PGlite, and PostgreSQL with DATABASE_URL.
 */
const FROM = '2026-03-01T00:00:00.000Z';
const TO = '2026-03-02T00:00:00.000Z';
const at = (iso: string) => new Date(iso);
const SHAPE = { ...DEMO_CAMPUS_SHAPE, floors: 2, roomsPerFloor: 2 }; // A-101 A-102 A-201 A-202 B-101 B-102 B-201 B-202, 4 students each

interface Page<R> {
  rows: R[];
  next: string | null;
}
interface ArrearsRow {
  dormitoryId: string;
  purse: string;
  balanceFen: number;
  belowZeroSince: string | null;
  cut: boolean;
  cutSince: string | null;
}

t.test('top consumers and occupied rooms with zero use equal a hand computation on a fixed history', async (t) => {
  // The demo campus is seeded (its students checked in) at FROM.
  const test = await createTestApp(t, { clock: new SimulatedClock(Date.parse(TO), 0), demoShape: SHAPE });
  const { db } = test.database;
  await db.updateTable('occupancies').set({ checked_in_at: at(FROM) }).execute();
  const reading = (meter_id: string, channel: string, start: string, usage: number) => ({ meter_id, channel, interval_start: at(start), usage, max_power_w: 100, register_end: 0 });
  await db
    .insertInto('interval_readings')
    .values([
      reading('M-A-101', 'main', '2026-03-01T01:00:00Z', 500),
      reading('M-A-101', 'main', '2026-03-01T02:00:00Z', 300),
      reading('M-A-102', 'main', '2026-03-01T03:00:00Z', 900),
      reading('M-B-101', 'main', '2026-03-01T04:00:00Z', 100),
      reading('M-A-201', 'main', '2026-03-01T05:00:00Z', 0), // read, but nothing used
      reading('M-A-201', 'main', '2026-02-20T10:00:00Z', 40), // its last use, before the range
      reading('M-B-102', 'main', '2026-03-02T01:00:00Z', 999), // after the range
      reading('M-A-101', 'lighting', '2026-03-01T01:00:00Z', 5_000), // a circuit is not the room's total
      reading('W-A-102', 'water', '2026-03-01T03:00:00Z', 50),
      reading('W-B-102', 'water', '2026-03-01T06:00:00Z', 70),
    ])
    .execute();
  const charge = (dormitoryId: string, purse: 'electricity' | 'water', fen: number, iso: string) => ({ dormitoryId, purse, kind: 'consumption_charge' as const, amount: -fen, usage: 1, occurredAt: at(iso) });
  await appendPostings(db, [charge('A-101', 'electricity', 80, '2026-03-01T02:10:00Z'), charge('A-102', 'electricity', 95, '2026-03-01T03:10:00Z'), charge('A-102', 'water', 12, '2026-03-01T03:10:00Z'), charge('A-101', 'electricity', 7, '2026-02-28T00:00:00Z')]);
  // A-202's students left an hour into the range: not occupied throughout.
  await db.updateTable('occupancies').set({ checked_out_at: at('2026-03-01T01:00:00Z') }).where('dormitory_id', '=', 'A-202').execute();
  const manager = await test.as('manager');
  const get = async <T>(url: string): Promise<T> => {
    const response = await test.app.http.inject({ method: 'GET', url, headers: manager });
    t.equal(response.statusCode, 200, `${url} is served (${response.statusCode === 200 ? '' : response.body})`);
    return response.json<T>();
  };
  type Consumer = { rank: number; dormitoryId: string; usage: number; costFen: number };
  const top = (r: { rows: Consumer[] }) => r.rows.map((x) => [x.rank, x.dormitoryId, x.usage, x.costFen]);
  t.same(top(await get(`/api/reports/top-consumers?from=${FROM}&to=${TO}`)), [[1, 'A-102', 900, 95], [2, 'A-101', 800, 80], [3, 'B-101', 100, 0]], 'electricity: most first, with what was charged in the range');
  t.same(top(await get(`/api/reports/top-consumers?from=${FROM}&to=${TO}&limit=2`)), [[1, 'A-102', 900, 95], [2, 'A-101', 800, 80]], 'the limit cuts the list');
  t.same(top(await get(`/api/reports/top-consumers?from=${FROM}&to=${TO}&building=BB`)), [[1, 'B-101', 100, 0]], 'one building');
  t.same(top(await get(`/api/reports/top-consumers?from=${FROM}&to=${TO}&purse=water`)), [[1, 'B-102', 70, 0], [2, 'A-102', 50, 12]], 'water, in litres');
  t.same(top(await get('/api/reports/top-consumers')), [[1, 'A-102', 900, 95], [2, 'A-101', 800, 80 + 7], [3, 'B-101', 100, 0]], 'by default the last 7 days on the injected clock');

  type Zero = { dormitoryId: string; occupants: number; lastUseAt: string | null };
  const zero = await get<Page<Zero> & { from: string; to: string }>(`/api/reports/zero-use?from=${FROM}&to=${TO}`);
  t.same(
    zero.rows.map((r) => [r.dormitoryId, r.occupants, r.lastUseAt]),
    [
      ['A-201', 4, '2026-02-20T10:00:00.000Z'],
      ['B-102', 4, null],
      ['B-201', 4, null],
      ['B-202', 4, null],
    ],
    'occupied throughout, nothing recorded in the range (a zero reading is no use; A-202 was left)',
  );
  t.equal(zero.next, null, 'one page holds them');
  const first = await get<Page<Zero>>(`/api/reports/zero-use?from=${FROM}&to=${TO}&limit=3`);
  t.same(first.rows.map((r) => r.dormitoryId), ['A-201', 'B-102', 'B-201'], 'a page of three');
  const second = await get<Page<Zero>>(`/api/reports/zero-use?from=${FROM}&to=${TO}&limit=3&after=${first.next}`);
  t.same([second.rows.map((r) => r.dormitoryId), second.next], [['B-202'], null], 'the next page is the rest, and the last');
  t.same((await get<Page<Zero>>(`/api/reports/zero-use?from=${FROM}&to=${TO}&building=BA`)).rows.map((r) => r.dormitoryId), ['A-201'], 'one building');

  const csv = await test.app.http.inject({ method: 'GET', url: `/api/reports/zero-use?from=${FROM}&to=${TO}&format=csv`, headers: manager });
  const [header, ...records] = csv.body.trimEnd().split('\r\n').map((line) => line.split(','));
  t.same(header, ['dormitory', 'building', 'floor', 'room', 'occupants', 'last_use_at', 'from', 'to'], 'the documented columns');
  t.same(records.map((r) => r[0]), zero.rows.map((r) => r.dormitoryId), 'the CSV has every row of the JSON');

  const bad = await test.app.http.inject({ method: 'GET', url: `/api/reports/zero-use?after=bm90LW91cnM`, headers: manager });
  t.same([bad.statusCode, bad.json().error?.field], [400, 'after'], 'a cursor the report did not give is a 400 naming after');
  t.equal((await test.app.http.inject({ method: 'GET', url: '/api/reports/top-consumers?limit=0', headers: manager })).json().error?.field, 'limit', 'a limit below 1 names the limit');
  const longest = await test.app.http.inject({ method: 'GET', url: `/api/reports/zero-use?from=2025-03-01T00:00:00.000Z&to=2026-03-02T00:00:00.000Z`, headers: manager });
  t.equal(longest.statusCode, 200, 'a range of 366 days is served');
  for (const format of ['', '&format=csv']) {
    const tooLong = await test.app.http.inject({ method: 'GET', url: `/api/reports/zero-use?from=2025-03-01T00:00:00.000Z&to=2026-03-02T00:00:00.001Z${format}`, headers: manager });
    t.same([tooLong.statusCode, tooLong.json().error?.field], [400, 'from'], `a range over 366 days is a 400 naming from (${format || 'json'})`);
  }
});

t.test('the arrears list: most owed first, since when each went below zero, page by page', async (t) => {
  const test = await createTestApp(t, { clock: new SimulatedClock(Date.parse(TO), 0), demoShape: SHAPE });
  const { db } = test.database;
  const balance = async (id: string, purse: 'electricity' | 'water') => (await db.selectFrom('accounts').select('balance').where('dormitory_id', '=', id).where('purse', '=', purse).executeTakeFirstOrThrow()).balance;
  const post = async (dormitoryId: string, purse: 'electricity' | 'water', amount: number, iso: string) => {
    await appendPostings(db, [{ dormitoryId, purse, kind: amount < 0 ? 'consumption_charge' : 'recharge', amount, occurredAt: at(iso) }]);
  };
  // below zero at T1 (-300), a recharge that is not enough at T2 (-200): below since T1.
  await post('A-101', 'electricity', -((await balance('A-101', 'electricity')) + 300), '2026-03-01T01:00:00Z');
  await post('A-101', 'electricity', 100, '2026-03-01T02:00:00Z');
  // below at T3, back above at T4, below again at T5 (-700): below since T5.
  await post('A-102', 'electricity', -((await balance('A-102', 'electricity')) + 50), '2026-03-01T03:00:00Z');
  await post('A-102', 'electricity', 60, '2026-03-01T04:00:00Z');
  await post('A-102', 'electricity', -710, '2026-03-01T05:00:00Z');
  // B-101's water: -500 since T6.
  await post('B-101', 'water', -((await balance('B-101', 'water')) + 500), '2026-03-01T06:00:00Z');
  const finance = await test.as('finance');
  const get = async (query: string) => {
    const response = await test.app.http.inject({ method: 'GET', url: `/api/reports/arrears${query}`, headers: finance });
    t.equal(response.statusCode, 200, `arrears${query} is served`);
    return response.json<Page<ArrearsRow>>();
  };
  const pick = (p: Page<ArrearsRow>) => p.rows.map((r) => [r.dormitoryId, r.purse, r.balanceFen, r.belowZeroSince, r.cut]);
  const all = await get('');
  t.same(
    pick(all),
    [
      ['A-102', 'electricity', -700, '2026-03-01T05:00:00.000Z', false],
      ['B-101', 'water', -500, '2026-03-01T06:00:00.000Z', false],
      ['A-101', 'electricity', -200, '2026-03-01T01:00:00.000Z', false],
    ],
    'most owed first; since the entry that last took each below zero',
  );
  const one = await get('?limit=2');
  t.same(pick(one), pick(all).slice(0, 2), 'a page of two');
  t.same(pick(await get(`?limit=2&after=${one.next}`)), pick(all).slice(2), 'then the rest');
  t.same(pick(await get('?purse=water')), pick(all).slice(1, 2), 'one purse');
  t.same(pick(await get('?building=BA')), [pick(all)[0], pick(all)[2]], 'one building');
  const xlsxOrCsv = await test.app.http.inject({ method: 'GET', url: '/api/reports/arrears?format=csv', headers: finance });
  const [header, ...records] = xlsxOrCsv.body.trimEnd().split('\r\n').map((line) => line.split(','));
  t.same(header, ['dormitory', 'building', 'floor', 'room', 'purse', 'balance_fen', 'below_zero_since', 'cut', 'cut_since'], 'the documented columns');
  t.equal(records.reduce((s, r) => s + Number(r[5]), 0), all.rows.reduce((s, r) => s + r.balanceFen, 0), "the CSV's total owed is the JSON's");
  t.equal((await test.app.http.inject({ method: 'GET', url: '/api/reports/arrears', headers: await test.as('manager') })).statusCode, 403, 'the arrears list is finance');
});

t.test('a dormitory cut for arrears by the running campus is listed while it stays cut, with since when', async (t) => {
  const test = await startLiveApp(t, { REFUND_APPROVAL_THRESHOLD_FEN: '100000' }, { quietAtBoot: true });
  const { app } = test;
  const finance = await test.as('finance');
  const post = (kind: 'recharges' | 'adjustments', payload: object) => app.http.inject({ method: 'POST', url: `/api/dormitories/A-117/${kind}`, headers: finance, payload });
  await waitFor('A-117 online', async () => (await getDormitory(test, 'A-117')).online);
  const listed = async () => (await app.http.inject({ method: 'GET', url: '/api/reports/arrears?purse=electricity&building=BA', headers: finance })).json<Page<ArrearsRow>>().rows.find((r) => r.dormitoryId === 'A-117');

  t.equal((await post('adjustments', { amount: -5_000, reason: 'back-billing', reference: 'arr-1' })).statusCode, 201, 'a debit into arrears');
  await waitFor('A-117 cut for arrears', async () => (await getDormitory(test, 'A-117')).state === 'cut_arrears');
  const debit = await test.database.db.selectFrom('ledger_entries').select('occurred_at').where('reference', '=', 'arr-1').executeTakeFirstOrThrow();
  const cut = await waitFor('the cut listed', async () => {
    const row = await listed();
    return row?.cut ? row : undefined;
  });
  t.ok(cut.balanceFen < 0, `listed with what it owes (${cut.balanceFen})`);
  t.ok(cut.belowZeroSince !== null && Date.parse(cut.belowZeroSince) <= new Date(debit.occurred_at).getTime(), `below zero since the debit or earlier (${cut.belowZeroSince})`);
  t.ok(cut.cutSince !== null && Date.parse(cut.cutSince) >= Date.parse(cut.belowZeroSince!), `cut since ${cut.cutSince}`);

  // Back above zero but under the restore threshold (100 fen): still cut, still listed.
  const owed = -(await test.database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'A-117').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
  t.equal((await post('adjustments', { amount: owed + 50, reason: 'partly forgiven', reference: 'arr-2' })).statusCode, 201, 'a credit that leaves it under the restore threshold');
  const still = await waitFor('listed at or above zero, still cut', async () => {
    const row = await listed();
    return row && row.balanceFen >= 0 ? row : undefined;
  });
  t.same([still.cut, still.belowZeroSince], [true, null], 'cut, not below zero');
  t.equal((await post('recharges', { amount: 1_000, method: 'cash', reference: 'arr-3' })).statusCode, 201, 'a recharge above the threshold');
  await waitFor('A-117 restored and gone from the list', async () => (await getDormitory(test, 'A-117')).state !== 'cut_arrears' && (await listed()) === undefined);
  t.pass('restored: off the list');
});
