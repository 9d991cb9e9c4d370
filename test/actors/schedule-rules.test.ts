import t from 'tap';
import { getDormitory, startLiveApp, waitFor, type LiveDormitory } from '../helpers/live-app.ts';

const HOUR = 3_600_000;
const OFFSET = 8 * HOUR; // the demo campus is UTC+8

/** The next instant at local time `hh:mm:ss` strictly after `after`. */
function nextLocal(after: number, hh: number, mm: number, ss = 0): number {
  const local = after + OFFSET;
  let target = Math.floor(local / (24 * HOUR)) * 24 * HOUR + hh * HOUR + mm * 60_000 + ss * 1000;
  if (target <= local) target += 24 * HOUR;
  return target - OFFSET;
}

const localDate = (at: number) => new Date(at + OFFSET).toISOString().slice(0, 10);

t.test('lights-off and lights-on, low-current sockets at night, holidays for flagged dormitories', async (t) => {
  const test = await startLiveApp(t, {}, { quietAtBoot: true });
  const { app, admin } = test;
  const inject = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => app.http.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  const nights = Object.fromEntries(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, { lightsOff: '23:30', lightsOn: '06:30' }]));
  t.equal((await inject('PUT', '/api/rules/campus/demo/lightingSchedule', { config: { nights } })).statusCode, 200);
  t.equal((await inject('PUT', '/api/rules/campus/demo/lowCurrent', { config: { enabled: true, thresholdW: 300, holdSeconds: 5 } })).statusCode, 200);

  const clock = () => inject('GET', '/api/simulator').then((r) => r.json<{ clock: { timeMs: number } }>().clock.timeMs);
  const jump = async (at: number, speed: number) => {
    const r = await inject('PUT', '/api/simulator/clock', { time: new Date(at).toISOString(), speed });
    t.equal(r.statusCode, 200, `clock to ${new Date(at + OFFSET).toISOString().slice(0, 19)} local`);
  };
  const circuit = (d: LiveDormitory, kind: string) => d.circuits.find((c) => c.kind === kind)!;

  // 23:29:50 local: lights still on. 23:30:00: lights off, sockets stay on.
  const beforeOff = nextLocal(await clock(), 23, 29, 50);
  await jump(beforeOff, 0);
  await waitFor('lights on before 23:30', async () => circuit(await getDormitory(test, 'A-109'), 'lighting').supply === 'on');
  await jump(beforeOff + 11_000, 0);
  const dark = await waitFor('A-109 lights off at 23:30', async () => {
    const d = await getDormitory(test, 'A-109');
    return circuit(d, 'lighting').supply === 'off' && circuit(d, 'lighting').cutReason === 'lights_off' ? d : undefined;
  });
  t.equal(circuit(dark, 'socket').supply, 'on', 'the socket stays on at lights-off');
  t.equal(circuit(dark, 'ac').supply, 'on');
  await waitFor('another building is dark too', async () => circuit(await getDormitory(test, 'B-109'), 'lighting').cutReason === 'lights_off');

  // Low-current mode: a heater on the socket at night is cut after the hold.
  t.equal((await inject('POST', '/api/simulator/dormitories/A-109/appliances', { kind: 'heater', circuit: 'socket' })).statusCode, 201);
  await inject('PUT', '/api/simulator/clock', { speed: 10 });
  const lowCurrent = await waitFor('A-109 socket cut in low-current mode', async () => {
    const d = await getDormitory(test, 'A-109');
    return circuit(d, 'socket').supply === 'off' && circuit(d, 'socket').cutReason === 'low_current' ? d : undefined;
  });
  t.equal(lowCurrent.state, 'cut_safety');
  const neighbour = await getDormitory(test, 'A-111');
  t.equal(circuit(neighbour, 'socket').supply, 'on', `a room without a heater keeps its socket (${JSON.stringify(circuit(neighbour, 'socket'))})`);

  // 06:30 local: lights on, the socket comes back at lights-on.
  await jump(nextLocal(await clock(), 6, 30, 1), 0);
  await waitFor('A-109 lights and socket back at 06:30', async () => {
    const d = await getDormitory(test, 'A-109');
    return circuit(d, 'lighting').supply === 'on' && circuit(d, 'socket').supply === 'on';
  });

  // A holiday tomorrow: dormitories flagged holiday_off (every fifth room in the demo) are off.
  const noon = nextLocal(await clock(), 12, 0, 0);
  const day = localDate(noon);
  t.equal((await inject('PUT', '/api/rules/campus/demo/calendar', { config: { semesters: [], holidays: [{ name: 'Sports day', from: day, to: day }] } })).statusCode, 200);
  await jump(noon, 0);
  const holiday = await waitFor('A-110 (holiday_off) off for the holiday', async () => {
    const d = await getDormitory(test, 'A-110');
    return d.circuits.every((c) => c.supply === 'off' && c.cutReason === 'holiday') ? d : undefined;
  });
  t.equal(holiday.state, 'holiday_off');
  // Judged on a reading taken in the holiday (on a busy machine A-111's last reading can still
  // be from before the jump).
  const ordinary = await waitFor('A-111 read during the holiday', async () => {
    const d = await getDormitory(test, 'A-111');
    return d.lastReadingAt !== null && d.lastReadingAt >= noon ? d : undefined;
  });
  t.ok(ordinary.circuits.every((c) => c.supply === 'on'), `a dormitory not flagged stays on (${JSON.stringify(ordinary.circuits.map((c) => [c.supply, c.cutReason]))})`);
  await jump(nextLocal(noon, 12, 0, 0), 0);
  await waitFor('A-110 back after the holiday', async () => (await getDormitory(test, 'A-110')).circuits.every((c) => c.supply === 'on'));
  const bad = await inject('PUT', '/api/rules/campus/demo/lightingSchedule', { config: { nights: { ...nights, monday: { lightsOff: '25:00', lightsOn: '06:30' } } } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().error.field, 'config.nights.monday.lightsOff');
});

