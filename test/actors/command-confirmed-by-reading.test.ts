import t from 'tap';
import { waitFor } from '../helpers/live-app.ts';
import { issue, live, playGateway, startCampus } from '../helpers/mqtt-gateway-campus.ts';

/**
 * A command the driver reports failed although the relay switched (its ack, or a Modbus
 * read-back, was lost: a wedged link, a starved server) is not left as a false alarm: readings
 * that show the relay where the command sent it record the command confirmed, with
 * that as its detail, and clears its command_failed alarm (two consecutive readings must show it:
 * one stale or glitched frame confirms nothing). A command whose relay did not switch stays
 * failed, its alarm active. Played with a real MQTT gateway client on the app's embedded
 * broker that switches relays but never acknowledges (the driver waits 5 s per attempt, 3 attempts).
 */
t.test('a failed command whose relay a reading shows switched is confirmed by that reading; one whose relay did not stays failed', async (t) => {
  const campus = await startCampus(t);
  const { secret } = (await issue(campus, 'GW-A')).json<{ secret: string }>();
  const gateway = await playGateway(t, campus, 'GW-A', secret);
  await waitFor('A-1 online', async () => (await live(campus, 'A-1')).online);

  const cut = (circuit: 'socket' | 'lighting') => campus.app.http.inject({ method: 'POST', url: '/api/dormitories/A-1/commands', headers: campus.admin, payload: { circuit, action: 'cut', reason: 'ack lost test' } });
  t.equal((await cut('socket')).statusCode, 202, 'a manual cut of the socket');
  t.equal((await cut('lighting')).statusCode, 202, 'and of the lighting');
  const socket = await waitFor('the socket cut on the command topic', () => gateway.commands.find((c) => c.target === 'socket' && c.action === 'cut'));
  const lighting = await waitFor('the lighting cut on the command topic', () => gateway.commands.find((c) => c.target === 'lighting' && c.action === 'cut'));
  // The gateway opens the socket relay (its telemetry says so from now on) and acknowledges nothing; the lighting relay jams closed.
  gateway.relays.socket = false;

  const row = (id: string) => campus.database.db.selectFrom('commands').select(['id', 'state', 'detail', 'requested_by']).where('id', '=', id).executeTakeFirst();
  const failedLighting = await waitFor('the lighting cut failed (no ack after 3 attempts)', async () => {
    await campus.app.runtime.flush();
    const r = await row(lighting.id);
    return r?.state === 'failed' ? r : undefined;
  }, 60_000, 200);
  t.match(failedLighting.detail, /no acknowledgement/, `the driver's reason is kept: ${failedLighting.detail}`);

  // One stale frame (a meter clock 90 s ahead: its time is clamped to the receive time, after the
  // failure) that shows the jammed lighting open confirms nothing: the relay never moved.
  const circuitsNow = async () => (await campus.app.http.inject({ method: 'GET', url: '/api/dormitories/A-1', headers: campus.admin })).json<{ circuits: { kind: string; supply: string }[] }>().circuits;
  gateway.pause();
  await gateway.frame({ ...gateway.relays, lighting: false }, Date.now() + 90_000);
  await waitFor('the stale frame reached the circuit (the live view shows the lighting off)', async () => ((await circuitsNow()).find((c) => c.kind === 'lighting')?.supply === 'off' ? true : undefined));
  await campus.app.runtime.flush();
  t.equal((await row(lighting.id))?.state, 'failed', 'one stale frame showing the jammed lighting open does not confirm its cut');
  gateway.resume();
  await waitFor('honest frames again (the lighting on)', async () => ((await circuitsNow()).find((c) => c.kind === 'lighting')?.supply === 'on' ? true : undefined));

  const confirmedSocket = await waitFor('the socket cut confirmed by a reading', async () => {
    await campus.app.runtime.flush();
    const r = await row(socket.id);
    return r?.state === 'confirmed' ? r : undefined;
  }, 60_000, 200);
  t.match(confirmedSocket.detail, /^confirmed by a reading of socket off after the driver reported it failed \(no acknowledgement within 5000 ms/, `its detail says how it was confirmed, and why the driver had given up: ${confirmedSocket.detail}`);
  t.equal(confirmedSocket.requested_by, 'admin', 'the command keeps who asked for it');
  t.notOk(gateway.commands.some((c) => c.target === 'socket' && c.id !== socket.id), 'no second socket command: the relay is where it was sent');

  // The clearance may commit a group commit after the confirmed row.
  const alarms = await waitFor("the socket's alarm cleared", async () => {
    await campus.app.runtime.flush();
    const rows = await campus.database.db.selectFrom('alarms').select(['circuit', 'state', 'evidence']).where('dormitory_id', '=', 'A-1').where('kind', '=', 'command_failed').orderBy('id').execute();
    return rows.some((a) => a.circuit === 'socket' && a.state === 'cleared') ? rows : undefined;
  });
  t.same(alarms.find((a) => a.circuit === 'socket')?.evidence, [{ commandId: socket.id }], 'the alarm names the command it is about');
  t.same(alarms.filter((a) => a.circuit === 'socket').map((a) => a.state), ['cleared'], "the socket's command_failed alarm, raised when the driver gave up, is cleared");
  t.ok(alarms.some((a) => a.circuit === 'lighting' && a.state === 'active'), "the jammed lighting's stays active");
  const dormitory = (await campus.app.http.inject({ method: 'GET', url: '/api/dormitories/A-1', headers: campus.admin })).json<{ circuits: { kind: string; supply: string }[] }>();
  t.equal(dormitory.circuits.find((c) => c.kind === 'socket')?.supply, 'off', 'the live view shows the socket off');
  t.equal(dormitory.circuits.find((c) => c.kind === 'lighting')?.supply, 'on', 'and the jammed lighting on');
  t.equal((await row(lighting.id))?.state, 'failed', 'the lighting cut stays failed: its relay never switched');
});
