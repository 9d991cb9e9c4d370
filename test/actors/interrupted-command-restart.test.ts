import t from 'tap';
import { closeInterruptedCommands, type CommandView } from '../../src/db/command.repository.ts';
import { getDormitory, waitFor } from '../helpers/live-app.ts';
import { afterReadings, commandsSince, startRestartCampus, type RestartCampus } from '../helpers/restart-campus.ts';

/**
 * A server killed (SIGKILL, a crash, the power) with a command in flight leaves its row
 * `requested` or `sent`: the meter's answer went to a process that no longer exists, and
 * nothing else closes it. The next start closes the open commands of the gateways it drives as
 * interrupted, before any of its own commands exist, and raises no alarm for them (the meter
 * did not refuse anything); the restarted circuit reconciles the relay from its first reading.
 */

const OPEN_COMMANDS = [
  { id: 'killed-sent', dormitory_id: 'R-1', meter_id: 'M-R-1', target: 'lighting', action: 'cut', reason: 'lights_off', state: 'sent' },
  { id: 'killed-requested', dormitory_id: 'R-3', meter_id: 'M-R-3', target: 'socket', action: 'cut', reason: 'manual', state: 'requested' },
  { id: 'answered', dormitory_id: 'R-2', meter_id: 'M-R-2', target: 'ac', action: 'restore', reason: 'recharge', state: 'confirmed' },
  // Meters removed (DELETE /api/meters/:id) while their command waited for a retry: no gateway drives them any more.
  { id: 'meter-removed', dormitory_id: 'R-2', meter_id: 'M-REMOVED', target: 'socket', action: 'cut', reason: 'manual', state: 'sent' },
  { id: 'no-meter', dormitory_id: 'R-2', meter_id: null, target: 'socket', action: 'restore', reason: 'manual', state: 'requested' },
] as const;

async function leaveOpenCommands(campus: RestartCampus, at: Date): Promise<void> {
  await campus.database.db
    .insertInto('commands')
    .values(OPEN_COMMANDS.map((c) => ({ ...c, requested_by: 'system', requested_at: at, sent_at: c.state === 'requested' ? null : at, completed_at: c.state === 'confirmed' ? at : null })))
    .execute();
}

const rowOf = async (campus: RestartCampus, id: string) => campus.database.db.selectFrom('commands').select(['state', 'detail', 'completed_at']).where('id', '=', id).executeTakeFirstOrThrow();

t.test('commands a killed server left open are closed as interrupted at the next start, only on its own gateways, with no alarm', async (t) => {
  const campus = await startRestartCampus(t);
  let server = await campus.start();
  await waitFor('R-1 online', async () => (await getDormitory(server, 'R-1')).online);
  await campus.stop();
  const killedAt = new Date(campus.clock.now());
  await leaveOpenCommands(campus, killedAt);

  // The sweep is scoped by gateway: closing GW-R2's (R-3's meter) leaves GW-R1's alone; the commands of meters that are gone go with any sweep.
  t.equal(await closeInterruptedCommands(campus.database.db, ['GW-R2'], killedAt, 'interrupted: scoped'), 3, "GW-R2's open command and the two whose meter is gone");
  t.equal((await rowOf(campus, 'killed-sent')).state, 'sent', 'the command to a meter of another gateway is untouched');
  t.match(await rowOf(campus, 'meter-removed'), { state: 'failed', detail: 'interrupted: scoped' }, 'the open command of a removed meter is closed');
  t.match(await rowOf(campus, 'no-meter'), { state: 'failed', detail: 'interrupted: scoped' }, 'and one with no meter');
  t.equal(await closeInterruptedCommands(campus.database.db, ['GW-UNKNOWN'], killedAt, 'interrupted: nothing'), 0, 'a gateway with no commands closes nothing');

  const restartedAt = new Date(campus.clock.now());
  server = await campus.start();
  const closed = await rowOf(campus, 'killed-sent');
  t.equal(closed.state, 'failed', 'the command left sent is closed when the server starts');
  t.match(closed.detail, /^interrupted: the server stopped before the meter answered \(it was killed or crashed; closed when it started again\)/, 'as interrupted, saying why');
  t.ok(closed.completed_at !== null && new Date(closed.completed_at).getTime() >= killedAt.getTime(), 'with the time it was closed');
  t.same(await rowOf(campus, 'answered'), { state: 'confirmed', detail: null, completed_at: killedAt }, 'an answered command is left as it was');

  const listed = await server.app.http.inject({ method: 'GET', url: '/api/dormitories/R-1/commands', headers: server.admin });
  const item = listed.json<{ items: CommandView[] }>().items.find((c) => c.id === 'killed-sent');
  t.match(item, { state: 'failed', detail: /^interrupted: / }, 'operators see it closed as interrupted');

  // R-1's circuits hold no reason to be cut, and the simulated relay never moved: the restarted
  // circuit finds it right at its first readings and sends nothing; no alarm stands for it.
  await afterReadings(server, 'R-1', 3);
  t.same(await commandsSince(campus, 'R-1', restartedAt), [], 'no command is sent for the interrupted one');
  t.equal(campus.relays('R-1').lighting, true, 'the lighting relay is closed, as it was');
  const alarms = await campus.database.db.selectFrom('alarms').select(['kind', 'message']).where('dormitory_id', '=', 'R-1').where('state', '=', 'active').execute();
  t.same(alarms, [], 'no alarm is raised for a command the restart interrupted');
});
