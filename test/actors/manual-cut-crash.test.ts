// CI: also on PGlite + the embedded broker (the crash and restart close and reopen a PGlite DATA_DIR (one process per data directory)).
import t, { type Test } from 'tap';
import type { DatabaseHandle } from '../../src/db/connect.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { waitFor } from '../helpers/live-app.ts';
import { oneMeterSimulator } from '../helpers/one-meter-simulator.ts';
import { serverProcessDatabase } from '../helpers/server-process-database.ts';
import { startServe, type RunningServe } from '../helpers/serve-process.ts';

/**
 * "A manual cut is decided by a command the operator issued": the server is SIGKILLed the
 * moment it answers the 202, before any group commit, and the restarted server must still hold
 * the cut (and send the cut itself if the first one never reached the meter). The server is a
 * real child process; the simulated meter lives in the test and outlives it.
 */

const ADMIN_PASSWORD = 'kill-admin-password';

async function seed(handle: DatabaseHandle, modbusAddress: string): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'kc', name: 'Kill campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'KB', campus_id: 'kc', name: 'Kill building', floors: 1 }).execute();
    await trx.insertInto('gateways').values({ id: 'GW-K', campus_id: 'kc', building_id: 'KB', protocol: 'modbus-tcp', address: modbusAddress }).execute();
    await trx.insertInto('dormitories').values({ id: 'K-1', building_id: 'KB', floor: 1, room: '101' }).execute();
    await trx.insertInto('meters').values({ id: 'M-K-1', dormitory_id: 'K-1', kind: 'electric', profile: 'campus-1in3out', gateway_id: 'GW-K', unit_address: '1' }).execute();
    await trx.insertInto('circuits').values((['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `M-K-1:${kind}`, meter_id: 'M-K-1', kind }))).execute();
    await trx.insertInto('accounts').values([{ dormitory_id: 'K-1', purse: 'electricity' as const }, { dormitory_id: 'K-1', purse: 'water' as const }]).execute();
    await appendPostings(trx, (['electricity', 'water'] as const).map((purse) => ({ dormitoryId: 'K-1', purse, kind: 'adjustment' as const, amount: 100_000, operator: 'seed', occurredAt: new Date(), details: {} })));
    const noNights = Object.fromEntries(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, null]));
    for (const [rule, config] of Object.entries({ lightingSchedule: { nights: noNights }, malignantLoad: { mode: 'off' }, lowCurrent: { enabled: false }, acStandby: { enabled: false } })) {
      await trx.insertInto('rule_settings').values({ scope: 'campus', scope_id: 'kc', rule, config: JSON.stringify(config) }).execute();
    }
  });
}

type Server = RunningServe;
const startServer = (t: Test, env: Record<string, string>) => startServe(t, env, ADMIN_PASSWORD);

interface LiveView {
  online?: boolean;
  state?: string;
  lastReadingAt?: number | null;
  circuits?: { cutReason: string | null }[];
}

const live = async (server: Server): Promise<LiveView> => (await (await fetch(`${server.url}/api/dormitories/K-1`, { headers: server.auth })).json()) as LiveView;

t.test('SIGKILL right after a manual cut is answered: the restarted server holds the cut', async (t) => {
  const { handle, pglite, env: dbEnv } = await serverProcessDatabase(t, 'manual-cut-crash');
  const { simulator, address } = await oneMeterSimulator(t, { seed: 3, gatewayId: 'GW-K', dormitoryId: 'K-1' });
  await seed(handle, address);
  if (pglite) await handle.close(); // one process per PGlite data directory
  const relays = () => simulator.campus.dormitory('K-1')!.electric!.read().circuits.map((c) => c.relayClosed);
  const env = { ...dbEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', POLL_INTERVAL_MS: '200', LEDGER_FLUSH_MS: '200', ADMIN_PASSWORD };

  const first = await startServer(t, env);
  await waitFor('K-1 online', async () => (await live(first)).online === true, 60_000);
  t.same(relays(), [true, true, true], 'supplied before the cut');
  const cut = await fetch(`${first.url}/api/dormitories/K-1/commands`, { method: 'POST', headers: { ...first.auth, 'content-type': 'application/json' }, body: JSON.stringify({ circuit: 'all', action: 'cut', reason: 'inspection' }) });
  first.child.kill('SIGKILL');
  t.equal(cut.status, 202, 'the cut was answered');
  await first.exited;

  const second = await startServer(t, env);
  await waitFor('the restarted server holds the manual cut', async () => {
    const view = await live(second);
    return view.state === 'cut_manual' && view.circuits?.every((c) => c.cutReason === 'manual');
  }, 60_000);
  await waitFor('the relays open', () => relays().every((closed) => !closed), 60_000);
  // A few more readings: nothing restores them.
  let seen = 0;
  let last: number | null | undefined;
  await waitFor('three more readings', async () => {
    const at = (await live(second)).lastReadingAt;
    if (at !== last) seen++;
    last = at;
    return seen > 3;
  }, 60_000, 100);
  t.same(relays(), [false, false, false], 'the relays stay open');
  second.child.kill('SIGTERM');
  await second.exited;
});
