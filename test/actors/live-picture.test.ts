import t from 'tap';
import type { App } from '../../src/app.ts';
import { getDormitory, waitFor } from '../helpers/live-app.ts';
import { afterReadings, startRestartCampus } from '../helpers/restart-campus.ts';

/** "The live picture tells the truth" (issue 8): what the control room and the API show is what the actors hold. */

type Server = { app: App; admin: { authorization: string } };
const inject = (server: Server, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => server.app.http.inject({ method, url, headers: server.admin, ...(payload ? { payload } : {}) });
const idsInState = async (server: Server, state: string) => (await inject(server, 'GET', `/api/dormitories?state=${state}`)).json<{ items: { id: string; state: string }[] }>().items.map((d) => d.id);

t.test('the live picture of a running campus', async (t) => {
  const campus = await startRestartCampus(t, {
    // electricity below the 5 yuan warning; R-2: water below it; R-3: both purses fine.
    balances: { 'R-1': 300 },
    waterBalances: { 'R-2': 200 },
    // Charges stay pending in the meters for a simulated day: the ledger lags the live balance.
    env: { BILLING_POST_INTERVAL_MS: '86400000' },
  });
  const server = await campus.start();

  await t.test('GET /api/dormitories?state= filters on the live state, and a state names its purse', async (t) => {
    await waitFor('R-1 listed as low_balance', async () => (await idsInState(server, 'low_balance')).includes('R-1'));
    t.same(await idsInState(server, 'low_balance'), ['R-1'], '?state=low_balance lists the room whose electricity is low, not the one whose water is');
    t.same(await idsInState(server, 'low_balance_water'), ['R-2'], 'a low water purse is its own state');
    await waitFor('R-3 listed as normal', async () => (await idsInState(server, 'normal')).includes('R-3'));
    const bad = await inject(server, 'GET', '/api/dormitories?state=low');
    t.equal(bad.statusCode, 400, 'an unknown state is refused');
    t.equal(bad.json<{ error: { field: string } }>().error.field, 'state', 'naming the field');
    t.equal(server.app.runtime.live.get('R-2')?.state, 'low_balance_water', 'the live feed names the purse too');
  });

  await t.test('alarms reach the live feed, and leave it when released', async (t) => {
    await waitFor('R-3 online', async () => (await getDormitory(server, 'R-3')).online);
    t.equal(server.app.runtime.live.get('R-3')?.activeAlarms, 0, 'no alarm yet');
    campus.simulator.raiseEvent('R-3', 'cover_opened');
    await waitFor('the tamper alarm in the live feed', () => server.app.runtime.live.get('R-3')?.activeAlarms === 1);
    const alarms = (await inject(server, 'GET', '/api/alarms?state=active&dormitory=R-3')).json<{ items: { id: number; kind: string }[] }>().items;
    t.same(alarms.map((a) => a.kind), ['tamper'], 'the alarm the feed counts is the tamper alarm');
    t.equal((await inject(server, 'POST', `/api/alarms/${alarms[0]!.id}/release`, { reason: 'checked on site' })).statusCode, 200, 'the operator releases it');
    await waitFor('the released alarm leaves the live feed', () => server.app.runtime.live.get('R-3')?.activeAlarms === 0);
  });

  await t.test("the recharge answer is the live balance, with the charges the meter has not posted yet", async (t) => {
    await waitFor('R-1 online', async () => (await getDormitory(server, 'R-1')).online);
    campus.simulator.plugAppliance('R-1', 'kettle', 'socket');
    await afterReadings(server, 'R-1', 2);
    campus.clock.advance(2 * 3_600_000);
    await afterReadings(server, 'R-1', 2);
    const ledgerBefore = (await campus.database.db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'R-1').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
    t.equal(ledgerBefore, 300, 'nothing was posted to the ledger yet');
    const response = await inject(server, 'POST', '/api/dormitories/R-1/recharges', { amount: 1000, method: 'cash', reference: 'live-balance-1' });
    t.equal(response.statusCode, 201, 'the recharge is created');
    const body = response.json<{ balance: number; balanceSource: string; ledgerBalance: number }>();
    t.equal(body.ledgerBalance, 1300, 'the ledger balance after the recharge');
    t.equal(body.balanceSource, 'live', 'the answer says its balance is the live one');
    t.ok(body.balance < 1300 - 100, `the live balance (${body.balance}) includes the kettle's unposted charges`);
    const live = await getDormitory(server, 'R-1');
    t.ok(live.balance.electricity <= body.balance, 'the answer is the live balance the dormitory holds (or a reading newer)');
  });
});

t.test('one gateway outage during lights-off raises one alarm with the affected rooms, no command_failed per circuit', async (t) => {
  const campus = await startRestartCampus(t);
  const server = await campus.start();
  await waitFor('R-1 and R-2 online', async () => (await getDormitory(server, 'R-1')).online && (await getDormitory(server, 'R-2')).online);

  campus.simulator.setGatewayOnline('GW-R1', false);
  await waitFor('GW-R1 seen offline', async () => (await inject(server, 'GET', '/api/gateways/GW-R1')).json<{ online: boolean }>().online === false);
  const since = new Date(campus.clock.now());
  const override = { lightsOn: false, untilAt: new Date(campus.clock.now() + 3_600_000).toISOString() };
  t.equal((await inject(server, 'PUT', '/api/rules/campus/rc/lightingOverride', { config: override })).statusCode, 200, 'lights-off ordered for the campus');
  t.equal((await inject(server, 'POST', '/api/dormitories/R-1/commands', { circuit: 'all', action: 'cut', reason: 'inspection' })).statusCode, 202, 'a manual cut during the outage');

  const failedCommands = async () => {
    await server.app.runtime.flush();
    return campus.database.db.selectFrom('commands').select(['dormitory_id', 'target']).where('state', '=', 'failed').where('requested_at', '>=', since).execute();
  };
  const failed = await waitFor('the commands to GW-R1 failed', async () => {
    const rows = await failedCommands();
    const rooms = new Set(rows.map((r) => r.dormitory_id));
    return rooms.has('R-1') && rooms.has('R-2') && rows.length >= 4 ? rows : undefined;
  }, 60_000, 200);
  t.ok(failed.length >= 4, `${failed.length} commands failed during the outage`);
  const alarms = await campus.database.db.selectFrom('alarms').select(['kind', 'gateway_id', 'evidence', 'state']).where('raised_at', '>=', since).execute();
  t.equal(alarms.filter((a) => a.kind === 'command_failed').length, 0, 'no command_failed alarm per circuit');
  const outage = await campus.database.db.selectFrom('alarms').select(['kind', 'gateway_id', 'evidence', 'state']).where('kind', '=', 'gateway_offline').execute();
  t.equal(outage.length, 1, 'one gateway_offline alarm');
  t.equal(outage[0]!.gateway_id, 'GW-R1', 'for the gateway');
  t.same(outage[0]!.evidence, [{ rooms: ['R-1', 'R-2'], meters: 2 }], 'with the affected rooms attached');

  campus.simulator.setGatewayOnline('GW-R1', true);
  await waitFor('the outage alarm cleared', async () => {
    await server.app.runtime.flush();
    return (await campus.database.db.selectFrom('alarms').select('state').where('kind', '=', 'gateway_offline').executeTakeFirst())?.state === 'cleared';
  });
  await waitFor('R-2 lighting cut once the gateway is back', () => campus.relays('R-2').lighting === false, 30_000);
  t.equal(campus.relays('R-2').socket, true, 'lights-off cuts only the lighting');
});
