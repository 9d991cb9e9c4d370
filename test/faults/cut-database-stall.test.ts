import t from 'tap';
import { waitFor } from '../helpers/live-app.ts';
import { consumptionChargesCommitted, proxiedPostgresApp, runSteadyLoad, startTrippingApp } from '../helpers/proxied-postgres-app.ts';

/**
 * Break-it on the write-ahead of a cut (docs/architecture.md): a circuit commits its control
 * state and the command record before its cut goes to the driver. Here PostgreSQL hangs at the
 * moment of the cut: the TCP forwarder between the app and the database keeps every connection
 * open but delivers nothing (no error, no answer; the writer has not noticed anything). The
 * malignant-load cut must still reach the simulated relay within a bounded time (the
 * write-ahead's wait, not the database's), and once the database answers again the command and
 * the trip's reason are committed.
 */

const databaseUrl = process.env.DATABASE_URL;

t.test('a malignant-load cut goes out while the database hangs, and is committed when it answers', { skip: databaseUrl ? false : 'needs DATABASE_URL (a real PostgreSQL)' }, async (t) => {
  const { app, proxy, direct } = await proxiedPostgresApp(t, { commandRetryMs: 2000, name: 'cut-stall' });
  await startTrippingApp(t, app);
  const simulator = app.simulator!;
  // The first charge needs a register to advance, whatever the hour: a room draws a steady load on its AC circuit
  // (runSteadyLoad; no trip there: the cuts below are of sockets).
  await consumptionChargesCommitted(app, direct, 'consumption charges committed (the meters are read)', 0, runSteadyLoad(app, ['A-106']));
  const socketOpened = (room: string) => simulator.campus.dormitory(room)!.electric!.read().circuits.find((c) => c.kind === 'socket')?.relayClosed === false;
  const timeToCut = async (room: string) => {
    const started = performance.now();
    simulator.plugAppliance(room, 'kettle', 'socket');
    await waitFor(`${room}'s socket relay opened`, () => socketOpened(room), 60_000, 20);
    return performance.now() - started;
  };

  // With the database answering: how long a kettle takes to be cut here.
  const healthy = await timeToCut('A-105');
  t.comment(`cut with the database answering: ${Math.round(healthy)} ms`);

  // The database hangs; nothing has failed yet, so nothing says it is away.
  proxy.stall();
  t.teardown(() => proxy.unstall());
  const hanging = await timeToCut('A-104');
  t.comment(`cut with the database hanging: ${Math.round(hanging)} ms`);
  t.ok(hanging < healthy + 3_000, `the cut went out within the write-ahead's bounded wait (${Math.round(hanging)} ms, healthy ${Math.round(healthy)} ms)`);
  const socket = await waitFor('the live view shows the socket off', async () => (await app.runtime.liveDormitory('A-104'))?.circuits.find((c) => c.kind === 'socket' && c.supply === 'off'));
  t.match(socket, { supply: 'off', cutReason: 'malignant_load' }, 'the live view shows the trip (its next reading)');
  // Many cuts at once while it still hangs: each waits the write-ahead's bound, not for the others.
  const many = (await direct.selectFrom('dormitories').select('id').where('id', 'like', 'A-%').where('id', 'not in', ['A-104', 'A-105']).orderBy('id').limit(8).execute()).map((d) => d.id);
  const times = await Promise.all(many.map((room) => timeToCut(room)));
  t.comment(`${many.length} cuts at once with the database hanging: ${times.map((ms) => Math.round(ms)).join(', ')} ms`);
  t.ok(Math.max(...times) < healthy + 5_000, `every one of ${many.length} simultaneous cuts went out in a bounded time (slowest ${Math.round(Math.max(...times))} ms)`);

  // The database answers again: the cut's command and its reason are committed.
  proxy.unstall();
  await waitFor('the cut command committed', async () => {
    await app.runtime.flush().catch(() => undefined);
    return direct.selectFrom('commands').select(['state', 'reason']).where('dormitory_id', '=', 'A-104').where('target', '=', 'socket').where('action', '=', 'cut').executeTakeFirst();
  }, 60_000, 200);
  const command = await direct.selectFrom('commands').select(['state', 'reason']).where('dormitory_id', '=', 'A-104').where('target', '=', 'socket').where('action', '=', 'cut').executeTakeFirstOrThrow();
  t.equal(command.reason, 'malignant_load', 'the command row names the trip');
  const control = await direct.selectFrom('control_states').selectAll().where('dormitory_id', '=', 'A-104').execute();
  t.ok(control.some((c) => JSON.stringify(c).includes('malignant_load')), 'the control state holds the trip');
  await waitFor('every simultaneous cut committed', async () => {
    await app.runtime.flush().catch(() => undefined);
    const rows = await direct.selectFrom('commands').select('dormitory_id').where('dormitory_id', 'in', many).where('action', '=', 'cut').where('reason', '=', 'malignant_load').execute();
    return new Set(rows.map((r) => r.dormitory_id)).size === many.length;
  }, 60_000, 200);
  t.pass('the simultaneous cuts are committed with their reason once the database answers');
});
