import t from 'tap';
import { getDormitory, startLiveApp, waitFor } from '../helpers/live-app.ts';

t.test('pulling the AC plug cuts the AC; an opened meter cover raises a tamper alarm', async (t) => {
  const test = await startLiveApp(t, {}, { quietAtBoot: true });
  const { app, admin } = test;
  const inject = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  t.equal((await inject('PUT', '/api/rules/campus/demo/acStandby', { config: { enabled: true, unpluggedSeconds: 30 } })).statusCode, 200);
  await waitFor('B-112 online', async () => (await getDormitory(test, 'B-112')).online);
  t.equal((await inject('POST', '/api/simulator/dormitories/B-112/events', { kind: 'ac_unplugged' })).statusCode, 202);
  await inject('PUT', '/api/simulator/clock', { speed: 20 });
  const cut = await waitFor('B-112 AC cut for standby', async () => {
    const d = await getDormitory(test, 'B-112');
    const ac = d.circuits.find((c) => c.kind === 'ac')!;
    return ac.supply === 'off' && ac.cutReason === 'ac_standby' ? d : undefined;
  });
  t.ok(cut.circuits.filter((c) => c.kind !== 'ac').every((c) => c.supply === 'on'), 'only the AC circuit is cut');
  const alarm = await waitFor('an ac_standby alarm', async () => (await inject('GET', '/api/alarms?state=active&dormitory=B-112')).json<{ items: { id: number; kind: string }[] }>().items.find((a) => a.kind === 'ac_standby'));
  // Plugged back and allowed by an operator: it comes back.
  await inject('POST', '/api/simulator/dormitories/B-112/events', { kind: 'ac_plugged' });
  t.equal((await inject('POST', `/api/alarms/${alarm.id}/release`, { reason: 'AC plugged back in' })).statusCode, 200);
  await waitFor('B-112 AC restored', async () => (await getDormitory(test, 'B-112')).circuits.find((c) => c.kind === 'ac')!.supply === 'on');

  t.equal((await inject('POST', '/api/simulator/dormitories/A-113/events', { kind: 'cover_opened' })).statusCode, 202);
  const tamper = await waitFor('a tamper alarm for A-113', async () => (await inject('GET', '/api/alarms?state=active&dormitory=A-113')).json<{ items: { kind: string; message: string }[] }>().items.find((a) => a.kind === 'tamper'));
  t.match(tamper.message, /cover/);
  const d = await getDormitory(test, 'A-113');
  t.ok(d.circuits.every((c) => c.supply === 'on'), 'by default tamper alarms without cutting');
});
