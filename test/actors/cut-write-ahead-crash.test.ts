// CI: also on PGlite + the embedded broker (the crash and restart close and reopen a PGlite DATA_DIR (one process per data directory)).
import t, { type Test } from 'tap';
import type { DatabaseHandle } from '../../src/db/connect.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { waitFor } from '../helpers/live-app.ts';
import { oneMeterSimulator } from '../helpers/one-meter-simulator.ts';
import { serverProcessDatabase } from '../helpers/server-process-database.ts';
import { startServe, type RunningServe } from '../helpers/serve-process.ts';

/**
 * "What decides a relay is persisted before an actor acts": a malignant-load trip (a rule the
 * balance does not re-derive) cuts the socket, and the server is SIGKILLed the moment the
 * simulated meter's socket relay opens. The group commit runs once a minute here
 * (LEDGER_FLUSH_MS=60000), so nothing but a write-ahead of the circuit's control state and
 * command record can have reached the database before the kill. The restarted server must keep
 * the relay open, show the trip as its reason, list the one cut command, and send no other.
 * The server is a real child process; the simulated meter lives in the test and outlives it.
 */

const ADMIN_PASSWORD = 'write-ahead-admin-password';
const TRIP_LIMIT_W = 1_000;

async function seed(handle: DatabaseHandle, modbusAddress: string): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await trx.insertInto('campuses').values({ id: 'wc', name: 'Write-ahead campus', utc_offset_minutes: 480 }).execute();
    await trx.insertInto('buildings').values({ id: 'WB', campus_id: 'wc', name: 'Write-ahead building', floors: 1 }).execute();
    await trx.insertInto('gateways').values({ id: 'GW-W', campus_id: 'wc', building_id: 'WB', protocol: 'modbus-tcp', address: modbusAddress }).execute();
    await trx.insertInto('dormitories').values({ id: 'W-1', building_id: 'WB', floor: 1, room: '101' }).execute();
    await trx.insertInto('meters').values({ id: 'M-W-1', dormitory_id: 'W-1', kind: 'electric', profile: 'campus-1in3out', gateway_id: 'GW-W', unit_address: '1' }).execute();
    await trx.insertInto('circuits').values((['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `M-W-1:${kind}`, meter_id: 'M-W-1', kind }))).execute();
    await trx.insertInto('accounts').values([{ dormitory_id: 'W-1', purse: 'electricity' as const }, { dormitory_id: 'W-1', purse: 'water' as const }]).execute();
    await appendPostings(trx, (['electricity', 'water'] as const).map((purse) => ({ dormitoryId: 'W-1', purse, kind: 'adjustment' as const, amount: 100_000, operator: 'seed', occurredAt: new Date(), details: {} })));
    const noNights = Object.fromEntries(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, null]));
    const rules = {
      lightingSchedule: { nights: noNights },
      // Any socket load over 1 kW for two readings trips; the trip recloses only after a day.
      malignantLoad: {
        mode: 'trip',
        totalPower: { enabled: true, limitW: TRIP_LIMIT_W, consecutiveSamples: 1 },
        increment: { enabled: false, windowSamples: 8, stepW: 100, pfThreshold: 0.95, minHits: 5 },
        intervals: [],
        whitelist: [],
      },
      reclose: { cooldownSeconds: 86_400, maxReclosesPerDay: 3 },
      lowCurrent: { enabled: false },
      acStandby: { enabled: false },
    };
    for (const [rule, config] of Object.entries(rules)) {
      await trx.insertInto('rule_settings').values({ scope: 'campus', scope_id: 'wc', rule, config: JSON.stringify(config) }).execute();
    }
  });
}

interface LiveView {
  online?: boolean;
  lastReadingAt?: number | null;
  circuits?: { kind: string; cutReason: string | null }[];
}

interface CommandList {
  items: { circuit: string; action: string; reason: string; state: string }[];
}

const live = async (server: RunningServe): Promise<LiveView> => (await (await fetch(`${server.url}/api/dormitories/W-1`, { headers: server.auth })).json()) as LiveView;
const commands = async (server: RunningServe): Promise<CommandList> => (await (await fetch(`${server.url}/api/dormitories/W-1/commands?pageSize=100`, { headers: server.auth })).json()) as CommandList;

/** Waits for `count` more readings of W-1 (each new lastReadingAt is one), counted in the server's own polls. */
async function readings(server: RunningServe, count: number): Promise<void> {
  let seen = 0;
  let last: number | null | undefined;
  await waitFor(`${count} more readings`, async () => {
    const at = (await live(server)).lastReadingAt;
    if (at !== last && last !== undefined) seen++;
    last = at;
    return seen >= count;
  }, 60_000, 50);
}

async function crashRightAfterTheCut(t: Test): Promise<void> {
  const { handle, pglite, env: dbEnv } = await serverProcessDatabase(t, 'cut-write-ahead');
  const { simulator, address } = await oneMeterSimulator(t, { seed: 5, gatewayId: 'GW-W', dormitoryId: 'W-1' });
  await seed(handle, address);
  if (pglite) await handle.close(); // one process per PGlite data directory
  const socketClosed = () => simulator.campus.dormitory('W-1')!.electric!.read().circuits.find((c) => c.kind === 'socket')!.relayClosed;
  // The group commit never runs during the test: only a write-ahead reaches the database before the kill.
  const env = { ...dbEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', POLL_INTERVAL_MS: '200', LEDGER_FLUSH_MS: '60000', ADMIN_PASSWORD };

  const first = await startServe(t, env, ADMIN_PASSWORD);
  await waitFor('W-1 online', async () => (await live(first)).online === true, 60_000);
  t.ok(socketClosed(), 'the socket is supplied before the trip');

  // SIGKILL in the same turn of the event loop that sees the socket relay open.
  let closedAfterKill = 0;
  const killed = new Promise<void>((resolve) => {
    const watch = setInterval(() => {
      if (socketClosed()) return;
      first.child.kill('SIGKILL');
      clearInterval(watch);
      resolve();
    }, 1);
    t.teardown(() => clearInterval(watch));
  });
  const kettle = simulator.plugAppliance('W-1', 'kettle', 'socket');
  await killed;
  await first.exited;
  // No load left to trip on: only the persisted trip can keep the socket off after the restart.
  simulator.unplugAppliance('W-1', kettle);
  const watchAfter = setInterval(() => {
    if (socketClosed()) closedAfterKill++;
  }, 5);
  t.teardown(() => clearInterval(watchAfter));

  const second = await startServe(t, env, ADMIN_PASSWORD);
  await waitFor('W-1 online after the restart', async () => (await live(second)).online === true, 60_000);
  await readings(second, 8);
  clearInterval(watchAfter);
  t.equal(closedAfterKill, 0, 'the socket relay never closed again after the kill');
  t.notOk(socketClosed(), 'the socket relay is open');
  const socket = (await live(second)).circuits?.find((c) => c.kind === 'socket');
  t.equal(socket?.cutReason, 'malignant_load', 'the restarted server holds the trip as the socket reason');
  const cuts = (await commands(second)).items.filter((c) => c.circuit === 'socket' && c.action === 'cut');
  t.equal(cuts.length, 1, `one socket cut is recorded, and none was sent again (${JSON.stringify(cuts)})`);
  t.match(cuts[0]?.reason ?? '', /malignant_load/, 'the recorded cut names the trip');
  second.child.kill('SIGTERM');
  await second.exited;
}

t.test('SIGKILL right after a malignant-load cut reaches the meter: the restarted server keeps it cut', crashRightAfterTheCut);
