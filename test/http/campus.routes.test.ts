import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * Campuses, buildings and campus settings over REST (issue 10), on the running app: a campus is
 * set up without SQL; settings are validated (400 names the field), audited, and taken by the
 * running dormitory at once (its live state follows new warning levels; a new time zone rebuilds
 * it with the zone's offset); retirement closes a building to new rooms.
 */
t.test('campuses and buildings over REST, settings live', async (t) => {
  const test = await createTestApp(t, { seedDemo: false });
  const { app, database } = test;
  const db = database.db;
  await app.start();
  const admin = await test.login('admin', 'test-admin-password');
  const manager = await test.as('manager');
  const finance = await test.as('finance');
  const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, headers = admin) => app.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });

  const badZone = await api('POST', '/api/campuses', { id: 'north', name: 'North', timeZone: 'Mars/Olympus' });
  t.equal(badZone.statusCode, 400, 'an unknown time zone is refused');
  t.equal(badZone.json().error.field, 'timeZone');
  t.equal((await api('POST', '/api/campuses', { id: 'north', name: 'North' }, manager)).statusCode, 403, 'a campus is the admin\'s');
  const campus = await api('POST', '/api/campuses', { id: 'north', name: 'North', timeZone: 'Asia/Shanghai' });
  t.equal(campus.statusCode, 201, campus.body);
  t.same(campus.json(), { id: 'north', name: 'North', timeZone: 'Asia/Shanghai', retiredAt: null });
  t.equal((await api('POST', '/api/campuses', { id: 'north', name: 'Again' })).statusCode, 409, 'an id is created once');
  t.equal((await api('POST', '/api/buildings', { id: 'N1', campusId: 'nowhere', name: 'N1', floors: 3 }, manager)).json().error.field, 'campusId', 'an unknown campus is named');
  const building = await api('POST', '/api/buildings', { id: 'N1', campusId: 'north', name: 'North 1', floors: 3 }, manager);
  t.equal(building.statusCode, 201, building.body);
  t.same((await api('PATCH', '/api/buildings/N1', { name: 'North One' }, manager)).json(), { id: 'N1', campusId: 'north', name: 'North One', floors: 3, retiredAt: null }, 'renamed');
  t.same((await api('PATCH', '/api/campuses/north', { name: 'North Campus' })).json().name, 'North Campus', 'a campus is renamed');
  t.same((await api('GET', '/api/buildings?campusId=north', undefined, finance)).json().buildings.map((b: { id: string }) => b.id), ['N1'], 'listed');
  t.same((await api('GET', '/api/campuses', undefined, finance)).json().campuses.map((c: { id: string }) => c.id), ['north'], 'listed');

  // A running dormitory with 10 yuan in each purse: below the default first warning level (20 yuan).
  t.equal((await api('POST', '/api/dormitories', { id: 'N-101', building: 'N1', floor: 1, room: '101' })).statusCode, 201);
  for (const purse of ['electricity', 'water'] as const) {
    t.equal((await api('POST', '/api/dormitories/N-101/recharges', { amount: 1_000, purse, method: 'cash', reference: `campus-test-${purse}` }, finance)).statusCode, 201, `${purse} funded`);
  }
  const live = async () => (await app.runtime.liveDormitory('N-101'))!.state;
  t.equal(await live(), 'low_balance', 'before: 1,000 fen is below the 2,000 fen warning level');

  const settings = await api('GET', '/api/campuses/north/settings', undefined, finance);
  t.same(settings.json(), { warningLevels: [2000, 500], overdraftLimit: 0, restoreThreshold: 100, waterArrearsCutsElectricity: true, timeZone: 'Asia/Shanghai', settlement: 'per-share', semesters: [] }, 'the defaults');
  const bad = await api('PATCH', '/api/campuses/north/settings', { timeZone: 'Nowhere/Land' });
  t.equal(bad.json().error.field, 'timeZone', 'a bad zone is named');
  t.equal((await api('PATCH', '/api/campuses/north/settings', { overdraftLimit: -1 })).statusCode, 400, 'a negative overdraft limit is refused');
  t.equal((await api('PATCH', '/api/campuses/north/settings', { settlement: 'none' }, manager)).statusCode, 403, 'settings are the admin\'s');
  const patched = await api('PATCH', '/api/campuses/north/settings', { warningLevels: [500], overdraftLimit: 300, restoreThreshold: 200, waterArrearsCutsElectricity: false, settlement: 'none' });
  t.equal(patched.statusCode, 200, patched.body);
  t.same(patched.json(), { warningLevels: [500], overdraftLimit: 300, restoreThreshold: 200, waterArrearsCutsElectricity: false, timeZone: 'Asia/Shanghai', settlement: 'none', semesters: [] });
  t.equal(await live(), 'normal', 'the running dormitory took the new warning levels at once');
  const stored = await db.selectFrom('campuses').select(['settings', 'utc_offset_minutes']).where('id', '=', 'north').executeTakeFirstOrThrow();
  t.match(stored.settings, { arrears: { warningLevels: [500], overdraftLimit: 300, restoreThreshold: 200, waterArrearsCutsElectricity: false }, settlement: 'none' }, 'stored where the actors and settlement read them');
  t.equal(stored.utc_offset_minutes, 480);

  const tokyo = await api('PATCH', '/api/campuses/north/settings', { timeZone: 'Asia/Tokyo' });
  t.equal(tokyo.json().timeZone, 'Asia/Tokyo');
  t.equal((await db.selectFrom('campuses').select('utc_offset_minutes').where('id', '=', 'north').executeTakeFirstOrThrow()).utc_offset_minutes, 540, "the campus's offset follows its zone");
  t.equal(app.runtime.directory.dormitories.get('N-101')?.zoneKey, 'Asia/Tokyo', 'the running dormitory was rebuilt in the new zone');
  t.equal(await live(), 'normal', 'and kept its state');
  const audits = await db.selectFrom('audit_log').select('action').where('target_type', 'in', ['campus', 'building']).orderBy('id').execute();
  t.same(audits.map((a) => a.action), ['campus.create', 'building.create', 'building.update', 'campus.update', 'campus.settings', 'campus.settings'], 'every change audited');

  // Retirement.
  const busy = await api('PATCH', '/api/campuses/north', { retired: true });
  t.equal(busy.statusCode, 409, 'a campus with a building in service cannot retire');
  t.equal((await api('PATCH', '/api/buildings/N1', { retired: true }, manager)).json().retiredAt !== null, true, 'an empty building (no students, no meters) retires');
  const closed = await api('POST', '/api/dormitories', { id: 'N-102', building: 'N1', floor: 1, room: '102' });
  t.equal(closed.statusCode, 400, 'a retired building takes no new room');
  t.equal(closed.json().error.field, 'building');
  t.not((await api('PATCH', '/api/campuses/north', { retired: true })).json().retiredAt, null, 'then the campus retires');
  t.equal((await api('POST', '/api/buildings', { id: 'N2', campusId: 'north', name: 'N2', floors: 1 }, manager)).json().error.field, 'campusId', 'a retired campus takes no new building');
});
