import t from 'tap';
import { getDormitory, waitFor } from '../helpers/live-app.ts';
import { startRestartCampus } from '../helpers/restart-campus.ts';

/**
 * A server stopped (or killed) while a gateway was offline leaves its `gateway_offline` alarm
 * active. The restarted gateway actor starts without knowing it was offline, so the alarm was
 * cleared only by going offline and online again: an outside attack found it active for good,
 * with the gateway online. The first "online" after a boot now clears it.
 */
t.test('an outage alarm left active by a stop during the outage is cleared when the restarted server finds the gateway online', async (t) => {
  const campus = await startRestartCampus(t);
  let server = await campus.start();
  await waitFor('R-1 online', async () => (await getDormitory(server, 'R-1')).online);
  campus.simulator.setGatewayOnline('GW-R1', false);
  const outage = () => campus.database.db.selectFrom('alarms').select(['state']).where('kind', '=', 'gateway_offline').where('gateway_id', '=', 'GW-R1').execute();
  await waitFor('the outage alarm raised', async () => {
    await server.app.runtime.flush();
    return (await outage()).length === 1;
  });
  await campus.stop();
  t.same(await outage(), [{ state: 'active' }], 'the alarm is active when the server stops during the outage');

  campus.simulator.setGatewayOnline('GW-R1', true);
  server = await campus.start();
  await waitFor('R-1 online after the restart', async () => (await getDormitory(server, 'R-1')).online);
  await waitFor('the outage alarm cleared', async () => {
    await server.app.runtime.flush();
    return (await outage())[0]?.state === 'cleared';
  });
  t.same(await outage(), [{ state: 'cleared' }], 'one alarm, cleared: the gateway is online');
  const gateway = await server.app.http.inject({ method: 'GET', url: '/api/gateways/GW-R1', headers: server.admin });
  t.equal(gateway.json<{ online: boolean }>().online, true, 'and the gateway is online');
  const active = await campus.database.db.selectFrom('alarms').select('kind').where('state', '=', 'active').where('gateway_id', '=', 'GW-R1').execute();
  t.same(active, [], 'no alarm of the gateway stays active');
});
