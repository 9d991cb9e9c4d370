import t from 'tap';
import type { App } from '../../src/app.ts';
import { getDormitory, waitFor } from '../helpers/live-app.ts';
import { afterReadings, commandsSince, startRestartCampus, type RestartCampus, type Room } from '../helpers/restart-campus.ts';

/**
 * "A restart is invisible to the relays": the simulated meters outlive the server and keep
 * their relays open, as real meters do; a restarted (or reloaded) server must find the reason
 * that holds each open relay and send no restore (issue 8).
 */

type Server = { app: App; admin: { authorization: string } };

const inject = (server: Server, method: 'GET' | 'POST', url: string, payload?: object) => server.app.http.inject({ method, url, headers: server.admin, ...(payload ? { payload } : {}) });

const allOpen = (campus: RestartCampus, room: Room) => Object.values(campus.relays(room)).every((closed) => closed === false);

/** Adds a meter to a running dormitory: the topology API reloads its actors. */
async function addMeter(server: Server, room: Room, unit: string): Promise<void> {
  const response = await inject(server, 'POST', `/api/dormitories/${room}/meters`, { id: `W-${room}-${unit}`, kind: 'water', profile: 'water-valve', gatewayId: 'GW-R2', unitAddress: `w${unit}` });
  if (response.statusCode !== 201) throw new Error(`add meter: ${response.statusCode} ${response.body}`);
}

async function recharge(server: Server, room: Room, amount: number, reference: string): Promise<void> {
  const response = await inject(server, 'POST', `/api/dormitories/${room}/recharges`, { amount, method: 'cash', reference });
  if (response.statusCode !== 201 && response.statusCode !== 200) throw new Error(`recharge: ${response.statusCode} ${response.body}`);
}

t.test('a manual cut survives a restart and a reload: no restore is sent, the reason is shown', async (t) => {
  const campus = await startRestartCampus(t);
  let server = await campus.start();
  await waitFor('R-1 online', async () => (await getDormitory(server, 'R-1')).online);
  t.notOk(allOpen(campus, 'R-1'), 'R-1 is supplied before the cut');

  const cut = await inject(server, 'POST', '/api/dormitories/R-1/commands', { circuit: 'all', action: 'cut', reason: 'inspection' });
  t.equal(cut.statusCode, 202, 'the cut is accepted');
  // Durable when answered (a SIGKILL now would still boot with it), not after a group commit.
  const held = await campus.database.db.selectFrom('manual_cuts').select(['meter_id', 'target', 'operator']).where('dormitory_id', '=', 'R-1').execute();
  t.same(held.map((h) => h.target).sort(), ['ac', 'lighting', 'socket'], 'the manual cut of every circuit is committed when the 202 is answered');
  t.ok(held.every((h) => h.operator === 'admin'), 'with the operator who asked');
  await waitFor('R-1 relays open', () => allOpen(campus, 'R-1'));

  await campus.stop();
  const restartedAt = new Date(campus.clock.now());
  server = await campus.start();
  await afterReadings(server, 'R-1', 3);
  t.ok(allOpen(campus, 'R-1'), 'the relays are still open after the restart');
  t.same(await commandsSince(campus, 'R-1', restartedAt), [], 'the restarted server sent no command to R-1');
  let d = await getDormitory(server, 'R-1');
  t.equal(d.state, 'cut_manual', 'the restarted server shows the manual cut');
  t.same(d.circuits.map((c) => c.cutReason), ['manual', 'manual', 'manual'], 'every circuit is held by the manual cut');

  const reloadedAt = new Date(campus.clock.now());
  await addMeter(server, 'R-1', '41');
  await afterReadings(server, 'R-1', 3);
  t.ok(allOpen(campus, 'R-1'), 'the relays are still open after the reload');
  t.same(await commandsSince(campus, 'R-1', reloadedAt), [], 'the reload sent no command to R-1');
  d = await getDormitory(server, 'R-1');
  t.same(d.circuits.map((c) => c.cutReason), ['manual', 'manual', 'manual'], 'the reloaded circuits are held by the manual cut');

  t.equal((await inject(server, 'POST', '/api/dormitories/R-1/commands', { circuit: 'all', action: 'restore', reason: 'done' })).statusCode, 202, 'the manual restore is accepted');
  await waitFor('R-1 relays closed', () => Object.values(campus.relays('R-1')).every((closed) => closed === true));
  t.equal((await campus.database.db.selectFrom('manual_cuts').select('meter_id').where('dormitory_id', '=', 'R-1').execute()).length, 0, 'the manual restore lifts the stored cut');
});

t.test('an arrears cut at -3 fen recharged to 47 fen stays cut across a restart and a reload (restore threshold 100 fen)', async (t) => {
  const campus = await startRestartCampus(t, { balances: { 'R-2': -3 } });
  let server = await campus.start();
  await waitFor('R-2 cut for arrears', async () => (await getDormitory(server, 'R-2')).state === 'cut_arrears' && allOpen(campus, 'R-2'));
  await recharge(server, 'R-2', 50, 'arrears-restart-1');
  await afterReadings(server, 'R-2', 2);
  let d = await getDormitory(server, 'R-2');
  t.equal(d.balance.electricity, 47, 'the balance is 47 fen');
  t.equal(d.state, 'cut_arrears', 'below the restore threshold the dormitory stays cut');

  await campus.stop();
  const restartedAt = new Date(campus.clock.now());
  server = await campus.start();
  await afterReadings(server, 'R-2', 3);
  t.ok(allOpen(campus, 'R-2'), 'the relays are still open after the restart');
  t.same(await commandsSince(campus, 'R-2', restartedAt), [], 'the restarted server sent no restore at 47 fen');
  d = await getDormitory(server, 'R-2');
  t.equal(d.state, 'cut_arrears', 'the restarted server still holds the arrears cut');
  t.same(d.circuits.map((c) => c.cutReason), ['arrears', 'arrears', 'arrears'], 'every circuit is held by arrears');

  const reloadedAt = new Date(campus.clock.now());
  await addMeter(server, 'R-2', '42');
  await afterReadings(server, 'R-2', 3);
  t.ok(allOpen(campus, 'R-2'), 'the relays are still open after the reload');
  t.same(await commandsSince(campus, 'R-2', reloadedAt), [], 'the reload sent no restore at 47 fen');
  t.equal((await getDormitory(server, 'R-2')).state, 'cut_arrears', 'the reloaded dormitory still holds the arrears cut');

  await recharge(server, 'R-2', 60, 'arrears-restart-2');
  await waitFor('R-2 restored at 107 fen', () => Object.values(campus.relays('R-2')).every((closed) => closed === true));
});

t.test('a malignant-load lock-out survives a restart and ends only by an operator release', async (t) => {
  const campus = await startRestartCampus(t, { rules: { malignantLoad: { mode: 'trip' }, reclose: { cooldownSeconds: 60, maxReclosesPerDay: 0 } } });
  let server = await campus.start();
  await waitFor('R-3 online', async () => (await getDormitory(server, 'R-3')).online);
  const kettle = campus.simulator.plugAppliance('R-3', 'kettle', 'socket');
  await waitFor('R-3 socket locked out', async () => {
    const d = await getDormitory(server, 'R-3');
    return campus.relays('R-3').socket === false && d.circuits.find((c) => c.kind === 'socket')?.cutReason === 'malignant_load';
  });
  campus.simulator.unplugAppliance('R-3', kettle);

  await campus.stop();
  const restartedAt = new Date(campus.clock.now());
  server = await campus.start();
  await afterReadings(server, 'R-3', 3);
  t.equal(campus.relays('R-3').socket, false, 'the locked-out socket is still open after the restart');
  t.equal(campus.relays('R-3').lighting, true, 'the other circuits stay supplied');
  t.same(await commandsSince(campus, 'R-3', restartedAt), [], 'the restarted server sent no restore');
  t.equal((await getDormitory(server, 'R-3')).circuits.find((c) => c.kind === 'socket')?.cutReason, 'malignant_load', 'the reason is shown after the restart');

  // A reclose timer cannot lift a lock-out; only the operator's release does.
  campus.clock.advance(10 * 60_000);
  await afterReadings(server, 'R-3', 2);
  t.equal(campus.relays('R-3').socket, false, 'still locked out ten minutes later');
  const alarms = (await inject(server, 'GET', '/api/alarms?state=active&dormitory=R-3')).json<{ items: { id: number; kind: string }[] }>();
  const lockout = alarms.items.find((a) => a.kind === 'lockout');
  t.ok(lockout, 'the lock-out alarm is active');
  t.equal((await inject(server, 'POST', `/api/alarms/${lockout!.id}/release`, { reason: 'socket checked' })).statusCode, 200, 'the operator releases the lock-out');
  await waitFor('R-3 socket restored after release', () => campus.relays('R-3').socket === true);
});
