import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { listAudit } from '../../src/db/audit.repository.ts';
import { createTestApp } from '../helpers/test-app.ts';

const START = Date.parse('2026-11-02T02:00:00Z');

type Page = { items: { id: number; kind: string; state: string; rooms: string[]; acknowledgedAt: string | null; acknowledgedBy: string | null; releasedBy: string | null }[]; total: number; counts: { active: number; unacknowledged: number; critical: number } };

t.test('alarms: filters, paging, grouping, acknowledge apart from release, a reason in the audit', async (t) => {
  const clock = new SimulatedClock(START, 0);
  const { app, database, login, as } = await createTestApp(t, { clock });
  const admin = await login('admin', 'test-admin-password');
  const inject = (method: 'GET' | 'POST', url: string, payload?: object, headers = admin) => app.http.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const list = async (query: string) => {
    const response = await inject('GET', `/api/alarms?${query}`);
    t.equal(response.statusCode, 200, `GET /api/alarms?${query} answers 200 (${response.body.slice(0, 200)})`);
    return response.json<Page>();
  };

  const raisedAt = new Date(START);
  const room = (dormitoryId: string, kind: string, severity: string) => ({ dormitory_id: dormitoryId, meter_id: `${dormitoryId}-E`, gateway_id: null, circuit: 'socket', kind, severity, message: `${kind} in ${dormitoryId}`, evidence: JSON.stringify([]), raised_at: raisedAt });
  await database.db
    .insertInto('alarms')
    .values([
      room('A-101', 'malignant_load', 'critical'),
      room('A-102', 'ac_standby', 'warning'),
      room('B-101', 'malignant_load', 'critical'),
      ...Array.from({ length: 5 }, (_, i) => room(`A-2${String(i + 1).padStart(2, '0')}`, 'low_current', 'warning')),
      { dormitory_id: null, meter_id: null, gateway_id: 'GW-B1', circuit: null, kind: 'gateway_offline', severity: 'warning', message: 'gateway GW-B1 went offline; 3 room(s) affected', evidence: JSON.stringify([{ rooms: ['B-103', 'B-101', 'B-102'], meters: 6 }]), raised_at: raisedAt },
    ])
    .execute();

  const all = await list('state=active&pageSize=4');
  t.equal(all.total, 9, 'nine active alarms in all');
  t.equal(all.items.length, 4, 'a page of four');
  t.same(all.counts, { active: 9, unacknowledged: 9, critical: 2 }, 'the header counts cover every active alarm, not the page');
  const page3 = await list('state=active&pageSize=4&page=3');
  t.equal(page3.items.length, 1, 'the third page holds the ninth');
  t.equal(new Set([...all.items, ...(await list('state=active&pageSize=4&page=2')).items, ...page3.items].map((a) => a.id)).size, 9, 'the pages do not overlap');

  const outage = (await list('kind=gateway_offline')).items;
  t.equal(outage.length, 1, 'one gateway outage is one alarm');
  t.same(outage[0]!.rooms, ['B-101', 'B-102', 'B-103'], 'with its rooms, sorted');
  t.same((await list('kind=malignant_load')).items.map((a) => a.rooms[0]).sort(), ['A-101', 'B-101'], 'kind filter');
  t.same((await list('building=BB')).items.map((a) => a.kind).sort(), ['gateway_offline', 'malignant_load'], "building filter: the building's rooms and the outage of its gateway");
  t.equal((await list('building=BA')).total, 7, 'building A: seven');
  t.equal((await list('severity=critical')).total, 2, 'severity filter');

  // Acknowledge: seen, still active.
  const target = (await list('kind=ac_standby')).items[0]!;
  const manager = await as('manager');
  const acked = await inject('POST', `/api/alarms/${target.id}/acknowledge`, undefined, manager);
  t.equal(acked.statusCode, 200, `acknowledge answers 200 (${acked.body})`);
  t.equal(acked.json().state, 'active', 'an acknowledged alarm stays active');
  t.match(acked.json().acknowledgedBy, /^manager-/, 'the operator who saw it');
  t.equal(acked.json().acknowledgedAt, new Date(START).toISOString(), 'at the injected clock');
  clock.advance(60_000);
  const again = await inject('POST', `/api/alarms/${target.id}/acknowledge`);
  t.equal(again.json().acknowledgedAt, new Date(START).toISOString(), 'a second acknowledgement keeps the first');
  t.same((await list('state=active&acknowledged=false')).items.map((a) => a.id).includes(target.id), false, 'not among the unacknowledged');
  t.equal((await list('state=active&acknowledged=true')).total, 1, 'one acknowledged');
  t.same((await list('state=active')).counts, { active: 9, unacknowledged: 8, critical: 2 });

  // Release needs a reason, which is audited.
  const noReason = await inject('POST', `/api/alarms/${target.id}/release`, {});
  t.equal(noReason.statusCode, 400);
  t.equal(noReason.json().error.field, 'reason', 'the missing reason is named');
  t.equal((await inject('POST', `/api/alarms/${target.id}/release`, { reason: '   ' })).json().error?.field, 'reason', 'a blank reason is refused');
  const released = await inject('POST', `/api/alarms/${target.id}/release`, { reason: 'AC plug checked on site' });
  t.equal(released.statusCode, 200, released.body);
  t.equal(released.json().state, 'released');
  t.equal(released.json().releasedBy, 'admin');
  t.equal((await inject('POST', `/api/alarms/${target.id}/release`, { reason: 'again' })).statusCode, 409, 'released once only');
  t.equal((await inject('POST', `/api/alarms/${target.id}/acknowledge`)).statusCode, 409, 'a released alarm cannot be acknowledged');
  t.equal((await inject('POST', '/api/alarms/999999/acknowledge')).statusCode, 404);
  const audit = await listAudit(database.db, 'alarm', String(target.id));
  t.same(
    audit.map((a) => [a.action, a.operator.replace(/-\d+$/, ''), (a.details as { reason?: string }).reason]),
    [
      ['alarm.release', 'admin', 'AC plug checked on site'],
      ['alarm.acknowledge', 'manager', undefined],
    ],
    'the acknowledgement and the release with its reason are audited, once each',
  );
  const finance = await as('finance');
  t.equal((await inject('POST', `/api/alarms/${all.items[0]!.id}/acknowledge`, undefined, finance)).statusCode, 403, 'finance reads alarms but does not acknowledge');

  // Released by several operators at once: one release, one audit record; every other answers 409 naming the state it lost to.
  const contested = (await list('kind=low_current&pageSize=1')).items[0]!;
  const racers = await Promise.all(['one', 'two', 'three', 'four'].map((n) => inject('POST', `/api/alarms/${contested.id}/release`, { reason: `release ${n}` })));
  t.same(racers.map((r) => r.statusCode).sort(), [200, 409, 409, 409], 'four concurrent releases: one wins');
  for (const loser of racers.filter((r) => r.statusCode === 409)) {
    t.equal(loser.json().error.message, `alarm ${contested.id} is released, not active`, 'a loser is told the alarm is released (not the state it read before the winner committed)');
  }
  t.equal((await listAudit(database.db, 'alarm', String(contested.id))).filter((a) => a.action === 'alarm.release').length, 1, 'audited once');
});
