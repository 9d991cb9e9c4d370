import t from 'tap';
import type { DormitoryMsg } from '../../src/actors/dormitory.actor.ts';
import { dispatch, stop } from '../../src/actors/nact.ts';
import { metricValue, startLiveApp, waitFor } from '../helpers/live-app.ts';

/**
 * An HTTP request that asks a live actor gets a prompt answer, or 503 with a code a client can
 * act on, never a 500: a dormitory whose mailbox is behind a burst answers 503 ACTOR_BUSY with
 * Retry-After (counted in campus_actor_ask_timeouts_total) and answers 200 again once it has
 * caught up; a dormitory actor that is gone answers 503 ACTOR_UNAVAILABLE.
 */
t.test('a busy actor is 503 ACTOR_BUSY with Retry-After, then answers again; a stopped one is 503 ACTOR_UNAVAILABLE', async (t) => {
  // A frozen simulator on a two-room campus: nothing but this test's burst reaches the actors.
  const test = await startLiveApp(t, { SIMULATOR_SPEED: '0', ACTOR_QUERY_TIMEOUT_MS: '100' }, { demoShape: { buildings: 1, floors: 1, roomsPerFloor: 2, occupantsPerRoom: 1 } });
  const { app, admin } = test;
  const billing = (meter: string) => app.http.inject({ method: 'GET', url: `/api/meters/${meter}/billing`, headers: admin });

  // An idle dormitory answers. (A machine loaded far past its cores can make a single 100 ms ask
  // miss its time, as a soak run saw at the app's boot: it is asked again until it answers.)
  let idleAnswered = false;
  for (let attempt = 0; attempt < 20 && !idleAnswered; attempt++) idleAnswered = (await billing('M-A-101')).statusCode === 200;
  t.ok(idleAnswered, 'an idle dormitory answers 200');
  const timeoutsBefore = await metricValue(test, 'campus_actor_ask_timeouts_total', 'actor="dormitory"');

  // 3,000,000 queued messages (each a no-op: the alarm count it already has; one object, so the
  // burst costs the mailbox's slots only) take far longer than the 100 ms a request waits,
  // however fast the machine. (300,000 no longer did once actors shared one run queue: about
  // 0.3 µs a message, 90 ms.)
  const dormitory = app.runtime.directory.dormitories.get('A-101')!.ref;
  const noOp = { type: 'AlarmsCounted', activeAlarms: 0 } satisfies DormitoryMsg;
  for (let i = 0; i < 3_000_000; i++) dispatch(dormitory, noOp);
  // Asked together: the busy dormitory's request times out while another dormitory's is answered.
  const [busy, firstOther] = await Promise.all([billing('M-A-101'), billing('M-A-102')]);
  t.equal(busy.statusCode, 503, 'a request behind the burst is 503, not 500');
  t.match(busy.json(), { error: { code: 'ACTOR_BUSY', message: /dormitory did not answer within 100 ms/ } }, 'coded ACTOR_BUSY, naming the actor kind');
  t.equal(busy.headers['retry-after'], '1', 'Retry-After tells the client when to come back (whole seconds, at least 1)');
  // Counted per timeout: on a machine loaded far past its cores the other dormitory's ask, made at the same time, can time out too.
  const timedOut = [busy, firstOther].filter((r) => r.statusCode === 503).length;
  t.equal(await metricValue(test, 'campus_actor_ask_timeouts_total', 'actor="dormitory"'), timeoutsBefore + timedOut, 'each timeout is counted under the actor kind');
  // Another dormitory is not held up by the busy one. (On a machine loaded far past its cores a
  // single 100 ms ask can miss its time anyway, so the pair is asked again until the other
  // answers; A-101 must still be busy in that same round.)
  let pair = { busy: busy.statusCode, other: firstOther.statusCode };
  for (let attempt = 0; attempt < 20 && pair.other !== 200; attempt++) {
    const [a, b] = await Promise.all([billing('M-A-101'), billing('M-A-102')]);
    pair = { busy: a.statusCode, other: b.statusCode };
  }
  t.same(pair, { busy: 503, other: 200 }, 'another dormitory answers 200 while the busy one, asked at the same time, is still behind its burst');

  // Retried as Retry-After says, the request is answered once the dormitory has caught up.
  let retries = 0;
  await waitFor('the busy dormitory answering again', async () => {
    retries++;
    return (await billing('M-A-101')).statusCode === 200;
  }, 60_000, 200);
  t.pass(`answered 200 after ${retries} retries`);

  stop(dormitory);
  const gone = await billing('M-A-101');
  t.equal(gone.statusCode, 503, 'a stopped actor is 503, not 500');
  t.equal(gone.json().error.code, 'ACTOR_UNAVAILABLE', 'with the code ACTOR_UNAVAILABLE');
});
