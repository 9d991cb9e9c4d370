import { createHash } from 'node:crypto';
import t from 'tap';
import { WebSocket } from 'ws';
import { isDeepStrictEqual } from 'node:util';
import type { DormitoryLiveState } from '../../src/live/live-feed.ts';
import { applyDelta, type DormitoryDelta } from '../../src/live/live-delta.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { cutAll } from '../helpers/fake-live-feed.ts';
import { startLiveTestServer } from '../helpers/live-test-server.ts';
import { ADMIN_PASSWORD } from '../helpers/test-app.ts';

type LiveMessage =
  | { type: 'snapshot' | 'diff'; scope?: string; dormitories: DormitoryLiveState[] }
  | { type: 'delta'; dormitories: DormitoryDelta[] };

/**
 * A real `ws` client that records every message and the latest state it has seen per dormitory.
 * A `lean` client (the long loops: up to thousands of 80 KB diffs) keeps only counts, the last
 * message, the latest state and each frame's digest, so the test process stays small however many
 * rounds a busy machine needs.
 */
function connect(url: string, protocols?: string[], options: { lean?: boolean } = {}) {
  const ws = new WebSocket(url, protocols);
  const messages: LiveMessage[] = [];
  /** Every frame as received (a lean client: its SHA-1), to compare clients byte for byte. */
  const raw: string[] = [];
  const latest = new Map<string, DormitoryLiveState>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const client = { ws, messages, raw, latest, closed, received: 0, bytes: 0, last: undefined as LiveMessage | undefined };
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    const frame = String(data);
    raw.push(options.lean ? createHash('sha1').update(frame).digest('hex') : frame);
    const message = JSON.parse(frame) as LiveMessage;
    if (!options.lean) messages.push(message);
    client.received++;
    client.bytes += frame.length;
    client.last = message;
    if (message.type === 'delta') {
      for (const d of message.dormitories) latest.set(d.id, applyDelta(latest.get(d.id)!, d));
    } else for (const d of message.dormitories) latest.set(d.id, d);
  });
  return client;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const ids = (message: LiveMessage | undefined) => (message ? message.dormitories.map((d) => d.id).sort() : []);

t.test('snapshot, then diffs filtered to the building, serialised once per scope', async (t) => {
  const server = await startLiveTestServer(t);
  const token = await server.token('admin', ADMIN_PASSWORD);

  const campus = connect(`${server.wsUrl}/ws/live?token=${token}`);
  const buildingB = connect(`${server.wsUrl}/ws/live?building=BB`, ['campus-live', `bearer.${token}`]);
  const buildingA1 = connect(`${server.wsUrl}/ws/live?building=BA&token=${token}`);
  const buildingA2 = connect(`${server.wsUrl}/ws/live?building=BA&token=${token}`);
  const all = [campus, buildingB, buildingA1, buildingA2];
  await waitFor(() => all.every((c) => c.messages.length === 1), 'the snapshots');
  t.equal(buildingB.ws.protocol, 'campus-live', 'the server answers with the feed subprotocol, never the token');

  t.equal(campus.messages[0]!.type, 'snapshot');
  t.equal(campus.messages[0]!.dormitories.length, 200, 'the campus snapshot holds every dormitory');
  t.equal(buildingB.messages[0]!.dormitories.length, 100);
  t.ok(buildingB.messages[0]!.dormitories.every((d) => d.building === 'BB'), 'a building snapshot holds only that building');
  t.match(campus.messages[0]!.dormitories.find((d) => d.id === 'A-101'), { state: 'normal', room: '101', floor: 1, online: true, circuits: [{ kind: 'lighting', supply: 'on' }, {}, {}] });

  const before = server.app.liveWebSocketStats().diffSerialisations;
  const a101 = server.feed.get('A-101');
  server.feed.push([{ ...a101, ...cutAll(a101, 'cut_manual', 'control room') }, { ...server.feed.get('B-201'), state: 'low_balance', balance: { electricity: 150, water: 2000 } }]);
  await waitFor(() => all.every((c) => c.messages.length === 2), 'the first diff');
  t.same(ids(campus.messages[1]), ['A-101', 'B-201'], 'the campus gets every change');
  t.same(ids(buildingB.messages[1]), ['B-201'], 'building BB gets only its own change');
  t.same(ids(buildingA1.messages[1]), ['A-101']);
  t.equal(buildingA1.messages[1]!.type, 'diff');
  t.match(campus.latest.get('A-101'), { state: 'cut_manual', powerW: 0, circuits: [{ supply: 'off', cutReason: 'control room' }, { supply: 'off' }, { supply: 'off' }] });
  t.match(buildingB.latest.get('B-201'), { state: 'low_balance', balance: { electricity: 150 } });
  t.equal(server.app.liveWebSocketStats().diffSerialisations - before, 3, 'one payload each for campus, BA and BB: four clients, three serialisations');
  t.equal(buildingA1.messages[1]!.dormitories.length, 1);

  server.feed.update('A-102', { powerW: 1234 });
  server.feed.update('B-202', { powerW: 4321 });
  await waitFor(() => buildingB.messages.length === 3 && campus.messages.length === 4, 'the next diffs');
  t.same(ids(buildingB.messages[2]), ['B-202'], 'a change in another building sends building BB nothing');
  t.same(campus.messages.slice(2).map(ids), [['A-102'], ['B-202']]);

  server.feed.push([]);
  t.equal(server.app.liveWebSocketStats().clients.length, 4);
  t.ok(server.app.liveWebSocketStats().clients.every((c) => c.operator === 'admin' && c.pending === 0 && !c.slow));

  buildingA2.ws.close();
  await buildingA2.closed;
  await waitFor(() => server.app.liveWebSocketStats().clients.length === 3, 'the server to forget the closed client');
  t.equal(server.feed.listenerCount, 1, 'one feed subscription for all clients');
  await server.app.close();
  t.equal(server.feed.listenerCount, 0, 'closing the server unsubscribes from the feed');
  const codes = await Promise.all([campus.closed, buildingB.closed, buildingA1.closed]);
  t.ok(codes.every((c) => c.code !== 4401), 'clients are closed when the server stops');
});

t.test('a missing, unknown or garbled token is closed with 4401 and gets no data', async (t) => {
  const server = await startLiveTestServer(t);
  const attempts = [
    connect(`${server.wsUrl}/ws/live`),
    connect(`${server.wsUrl}/ws/live?token=not-a-real-token`),
    connect(`${server.wsUrl}/ws/live?building=BA`, ['campus-live', 'bearer.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']),
  ];
  for (const attempt of attempts) {
    const { code, reason } = await attempt.closed;
    t.equal(code, 4401);
    t.match(reason, /token/);
    t.equal(attempt.messages.length, 0, 'no snapshot before authentication');
  }
  t.equal(server.app.liveWebSocketStats().clients.length, 0);

  const token = await server.token('admin', ADMIN_PASSWORD);
  const viaHeader = new WebSocket(`${server.wsUrl}/ws/live?building=BA`, { headers: { authorization: `Bearer ${token}` } });
  const first = await new Promise<LiveMessage>((resolve) => viaHeader.once('message', (data) => resolve(JSON.parse(String(data)) as LiveMessage)));
  t.equal(first.dormitories.length, 100, 'an Authorization header works too (non-browser clients)');
  const large = new Promise<number>((resolve) => viaHeader.once('close', (code) => resolve(code)));
  viaHeader.send('x'.repeat(10_000));
  t.equal(await large, 1009, 'the feed is one-way: a large client frame closes the socket');

  const unknownParameter = new WebSocket(`${server.wsUrl}/ws/live?token=${token}&debug=1`);
  unknownParameter.on('error', () => undefined);
  const status = await new Promise<number | undefined>((resolve) => unknownParameter.once('unexpected-response', (_request, response) => resolve(response.statusCode)));
  t.equal(status, 400, 'an unknown query parameter fails the upgrade');
  unknownParameter.terminate();

  const unknownFormat = new WebSocket(`${server.wsUrl}/ws/live?token=${token}&format=xml`);
  unknownFormat.on('error', () => undefined);
  const formatStatus = await new Promise<number | undefined>((resolve) => unknownFormat.once('unexpected-response', (_request, response) => resolve(response.statusCode)));
  t.equal(formatStatus, 400, 'a format other than full or delta fails the upgrade');
  unknownFormat.terminate();
});

t.test('a student sees only their own dormitory, whatever building they ask for', async (t) => {
  const server = await startLiveTestServer(t);
  const { token } = await server.student('A-103');
  const student = connect(`${server.wsUrl}/ws/live?building=BB`, ['campus-live', `bearer.${token}`]);
  await waitFor(() => student.messages.length === 1, 'the snapshot');
  t.same(ids(student.messages[0]), ['A-103']);
  t.equal((student.messages[0] as { scope?: string }).scope, 'dormitory:A-103');

  server.feed.update('A-101', { powerW: 1 });
  server.feed.update('B-201', { powerW: 2 });
  server.feed.push([server.feed.get('A-104'), { ...server.feed.get('A-103'), balance: { electricity: -20, water: 2000 }, state: 'overdraft' }]);
  await waitFor(() => student.messages.length === 2, 'the own diff');
  t.same(ids(student.messages[1]), ['A-103'], 'other dormitories never reach a student');
  t.match(student.latest.get('A-103'), { state: 'overdraft', balance: { electricity: -20 } });
  t.same([...student.latest.keys()], ['A-103']);
  t.match(server.app.liveWebSocketStats().clients, [{ scope: 'dormitory:A-103', operator: /^student-A-103/ }]);
  student.ws.close();
});

t.test('a slow client is never queued without bound and ends at the latest state', async (t) => {
  const highWaterMarkBytes = 64 * 1024;
  const server = await startLiveTestServer(t, { live: { highWaterMarkBytes } });
  const token = await server.token('admin', ADMIN_PASSWORD);
  // One after the other, so the server's first client is the slow one (upgrades at once register in whatever order they complete).
  // The slow client reads deltas: what it misses while slow comes whole, and the deltas after it must still add up.
  const slow = connect(`${server.wsUrl}/ws/live?format=delta&token=${token}`, undefined, { lean: true });
  await waitFor(() => slow.received === 1, 'the slow client\'s snapshot');
  const fast = connect(`${server.wsUrl}/ws/live?token=${token}`, undefined, { lean: true });
  await waitFor(() => fast.received === 1, 'the fast client\'s snapshot');
  const [slowId, fastId] = server.app.liveWebSocketStats().clients.map((c) => c.id);
  const statsOf = (id: number | undefined) => server.app.liveWebSocketStats().clients.find((c) => c.id === id)!;

  // The slow client stops reading: the kernel buffers fill, then the server's socket buffer.
  slow.ws.pause();
  const round = (n: number) =>
    server.feed.push(server.feed.snapshot().map((d) => ({ ...d, powerW: n, balance: { electricity: 10_000 - n, water: 2000 }, lastReadingAt: n })));
  let rounds = 0;
  let maxBuffered = 0;
  let maxPending = 0;
  let heldRounds = 0;
  const fullDiffBytes = JSON.stringify({ type: 'diff', dormitories: server.feed.snapshot() }).length;
  while (heldRounds < 50 && rounds < 30_000) {
    round(++rounds);
    const stats = statsOf(slowId);
    maxBuffered = Math.max(maxBuffered, stats.bufferedAmount);
    maxPending = Math.max(maxPending, stats.pending);
    if (stats.slow) heldRounds++;
    // Let the kernel move bytes now and then: under CPU load the buffers fill more slowly.
    await new Promise((resolve) => (rounds % 100 === 0 ? setTimeout(resolve, 5) : setImmediate(resolve)));
  }
  t.ok(heldRounds >= 50, `the client became slow after ${rounds - heldRounds} rounds`);
  const slowStats = statsOf(slowId);
  t.ok(slowStats.diffsHeld >= 49, `${slowStats.diffsHeld} diffs were held as dirty ids, not queued`);
  t.ok(maxPending <= 200, `pending dirty ids stay bounded by the dormitories in scope (max ${maxPending})`);
  t.equal(slowStats.pending, 200);
  t.ok(maxBuffered <= highWaterMarkBytes + 2 * fullDiffBytes, `the socket buffer stays near the high-water mark (max ${maxBuffered} bytes, one diff ${fullDiffBytes})`);
  t.equal(statsOf(fastId).diffsHeld, 0, 'a client that keeps up is not held back by a slow one');

  // The last state is distinctive; the slow client must end exactly there.
  server.feed.push([{ ...server.feed.get('A-101'), ...cutAll(server.feed.get('A-101'), 'cut_arrears', 'arrears') }]);
  const expected = new Map(server.feed.snapshot().map((d) => [d.id, d]));
  slow.ws.resume();
  const reachedLatest = (client: ReturnType<typeof connect>) => client.latest.size === 200 && [...expected].every(([id, state]) => isDeepStrictEqual(client.latest.get(id), state));
  await waitFor(() => reachedLatest(slow), 'the slow client to catch up with the latest state', 30_000);
  await waitFor(() => reachedLatest(fast), 'the fast client');
  t.pass('after draining, the slow client holds the latest state of every dormitory');
  t.match(slow.latest.get('A-101'), { state: 'cut_arrears', circuits: [{ supply: 'off', cutReason: 'arrears' }, {}, {}] });
  t.ok(slow.received < fast.received, `coalesced: the slow client got ${slow.received} messages, the fast one ${fast.received}`);
  await waitFor(() => statsOf(slowId).pending === 0 && !statsOf(slowId).slow, 'the pending set to empty');
  t.equal(fast.received, rounds + 2, 'the fast client got the snapshot and every diff');

  // After its catch-up the delta client is in step again: a change, then the same field changed back.
  server.feed.update('B-201', { powerW: 777, online: false });
  server.feed.update('B-201', { online: true });
  const b201 = server.feed.get('B-201');
  await waitFor(() => isDeepStrictEqual(slow.latest.get('B-201'), b201) && isDeepStrictEqual(fast.latest.get('B-201'), b201), 'both clients at B-201\'s last state');
  t.pass('the delta client follows changes after catching up');
  slow.ws.close();
  fast.ws.close();
});

t.test('a delta client ends at the same states as a whole-state client, for fewer bytes', async (t) => {
  const server = await startLiveTestServer(t);
  const token = await server.token('admin', ADMIN_PASSWORD);
  const whole = connect(`${server.wsUrl}/ws/live?token=${token}`);
  const delta = connect(`${server.wsUrl}/ws/live?format=delta&token=${token}`);
  const buildingDelta = connect(`${server.wsUrl}/ws/live?format=delta&building=BA&token=${token}`);
  const all = [whole, delta, buildingDelta];
  await waitFor(() => all.every((c) => c.received === 1), 'the snapshots');
  const inStep = (what: string) =>
    waitFor(
      () =>
        server.feed.snapshot().every((d) => isDeepStrictEqual(whole.latest.get(d.id), d) && isDeepStrictEqual(delta.latest.get(d.id), d)) &&
        server.feed.snapshot('BA').every((d) => isDeepStrictEqual(buildingDelta.latest.get(d.id), d)),
      what,
    );

  // The first flush after a delta client's snapshot comes whole; deltas after it.
  server.feed.update('A-101', { powerW: 10 });
  await inStep('the first flush');
  t.equal(delta.last!.type, 'diff', 'the first flush after the snapshot is whole');
  const bytesBefore = { whole: whole.bytes, delta: delta.bytes };

  // A reading: power figures and the time of the last reading.
  const readingOf = (d: DormitoryLiveState, n: number): DormitoryLiveState => ({ ...d, powerW: 100 + n, lastReadingAt: 1_000 + n, circuits: d.circuits.map((c, i) => (i === 1 ? { ...c, powerW: 50 + n } : c)) });
  for (let n = 1; n <= 20; n++) server.feed.push(server.feed.snapshot().map((d) => readingOf(d, n)));
  await inStep('twenty readings of every dormitory');
  t.equal(delta.last!.type, 'delta', 'then deltas');
  const lastDelta = (delta.last as { dormitories: DormitoryDelta[] }).dormitories.find((d) => d.id === 'A-101');
  t.same(lastDelta, { id: 'A-101', powerW: 120, lastReadingAt: 1_020, circuitChanges: [[1, { powerW: 70 }]] }, 'a delta carries only what changed');
  const used = { whole: whole.bytes - bytesBefore.whole, delta: delta.bytes - bytesBefore.delta };
  t.ok(used.delta * 3 < used.whole, `the delta client read under a third of the bytes (${used.delta} against ${used.whole})`);

  // A field changed and changed back, a cut, a balance, an estimate, a circuit list that changes shape.
  server.feed.update('A-102', { online: false });
  server.feed.update('A-102', { online: true });
  const a103 = server.feed.get('A-103');
  server.feed.update('A-103', cutAll(a103, 'cut_arrears', 'arrears'));
  server.feed.update('A-103', { balance: { electricity: -5, water: 2000 }, daysLeft: { electricity: { days: 0, dailyUseFen: 900 }, water: { days: null, dailyUseFen: 0 } } });
  server.feed.update('A-104', { circuits: server.feed.get('A-104').circuits.slice(0, 1) });
  server.feed.update('B-201', { state: 'low_balance', balance: { electricity: 150, water: 2000 } });
  await inStep('the mixed changes');
  t.match(delta.latest.get('A-103'), { state: 'cut_arrears', balance: { electricity: -5 }, circuits: [{ supply: 'off', cutReason: 'arrears' }, { supply: 'off' }, { supply: 'off' }] });
  t.equal(delta.latest.get('A-104')!.circuits.length, 1, 'a circuit list that changed shape is replaced');
  t.notOk(buildingDelta.latest.has('B-201'), 'a building delta client gets only its building');

  // A second delta client joining later is put in step on its own first flush.
  const late = connect(`${server.wsUrl}/ws/live?format=delta&token=${token}`);
  await waitFor(() => late.received === 1, 'the late snapshot');
  server.feed.update('A-105', { powerW: 5 });
  server.feed.update('A-105', { powerW: 6 });
  await inStep('after the late join');
  await waitFor(() => server.feed.snapshot().every((d) => isDeepStrictEqual(late.latest.get(d.id), d)), 'the late client');
  t.pass('a late delta client ends at the same states');
  for (const c of [...all, late]) c.ws.close();
});

t.test('a stalled client is dropped with a metric; every other client gets the same bytes of each diff', async (t) => {
  const highWaterMarkBytes = 64 * 1024;
  const metrics = new Metrics();
  // A stall of 300 ms (wall time: the socket's, not the campus clock) instead of 15 s.
  const server = await startLiveTestServer(t, { live: { highWaterMarkBytes, stallTimeoutMs: 300, metrics } });
  const token = await server.token('admin', ADMIN_PASSWORD);
  const readers = [0, 1, 2].map(() => connect(`${server.wsUrl}/ws/live?token=${token}`, undefined, { lean: true }));
  await waitFor(() => readers.every((c) => c.received === 1), 'the readers\' snapshots');
  // The stalled client connects alone, after the readers are registered: the server's one new
  // client is it (four upgrades at once register in whatever order they complete).
  const readerIds = new Set(server.app.liveWebSocketStats().clients.map((c) => c.id));
  const stalled = connect(`${server.wsUrl}/ws/live?token=${token}`, undefined, { lean: true });
  await waitFor(() => stalled.received === 1, 'the stalled client\'s snapshot');
  const stalledId = server.app.liveWebSocketStats().clients.find((c) => !readerIds.has(c.id))!.id;
  const gauge = async () => (await metrics.registry.getSingleMetricAsString('campus_live_clients')).split('\n').at(-1);
  t.equal(await gauge(), 'campus_live_clients 4', 'four open clients gauged');

  // The stalled client stops reading for good; the feed keeps changing every dormitory.
  stalled.ws.pause();
  const serialisedBefore = server.app.liveWebSocketStats().diffSerialisations;
  const fullDiffBytes = JSON.stringify({ type: 'diff', dormitories: server.feed.snapshot() }).length;
  let rounds = 0;
  let maxBuffered = 0;
  while (server.app.liveWebSocketStats().dropped.stalled === 0 && rounds < 30_000) {
    rounds++;
    server.feed.push(server.feed.snapshot().map((d) => ({ ...d, powerW: rounds, lastReadingAt: rounds })));
    const own = server.app.liveWebSocketStats().clients.find((c) => c.id === stalledId);
    if (own) maxBuffered = Math.max(maxBuffered, own.bufferedAmount);
    await new Promise((resolve) => (rounds % 50 === 0 ? setTimeout(resolve, 5) : setImmediate(resolve)));
  }
  const stats = server.app.liveWebSocketStats();
  t.same(stats.dropped, { stalled: 1, buffer_limit: 0, keepalive: 0 }, `the stalled client was dropped after ${rounds} rounds`);
  t.notOk(stats.clients.some((c) => c.id === stalledId), 'and forgotten');
  t.ok(maxBuffered <= highWaterMarkBytes + 2 * fullDiffBytes, `its buffer never grew past the mark and a diff (max ${maxBuffered} bytes, one diff ${fullDiffBytes})`);
  t.match(await metrics.registry.getSingleMetricAsString('campus_live_clients_dropped_total'), /campus_live_clients_dropped_total\{reason="stalled"\} 1/);
  t.equal(await gauge(), 'campus_live_clients 3');
  t.equal(stats.diffSerialisations - serialisedBefore, rounds, 'one serialisation per diff for all clients of the campus scope');
  stalled.ws.resume();
  t.equal((await stalled.closed).code, 1006, 'terminated: the client sees an abnormal close');

  await waitFor(() => readers.every((c) => c.raw.length === rounds + 1), 'every diff at every reading client');
  t.ok(readers.every((c) => c.raw.every((frame, i) => frame === readers[0]!.raw[i])), 'the three reading clients got byte-identical frames');
  t.equal(readers[0]!.last!.dormitories.length, 200);
  t.ok(readers[0]!.last!.dormitories.every((d) => d.powerW === rounds), 'ending at the last state');
  for (const reader of readers) reader.ws.close();
});

t.test('keepalive: a client that stops answering pings is dropped, a live one stays', async (t) => {
  // 400 ms between pings: the live client answers from this same process, and a 50 ms interval
  // dropped it too on a busy machine (both clients gone, 'one client left' never seen).
  const server = await startLiveTestServer(t, { live: { pingIntervalMs: 400 } });
  const token = await server.token('admin', ADMIN_PASSWORD);
  const live = connect(`${server.wsUrl}/ws/live?building=BA&token=${token}`);
  const silent = connect(`${server.wsUrl}/ws/live?building=BB&token=${token}`);
  let pings = 0;
  live.ws.on('ping', () => pings++);
  await waitFor(() => live.messages.length === 1 && silent.messages.length === 1, 'the snapshots');
  silent.ws.pause();
  await waitFor(() => !server.app.liveWebSocketStats().clients.some((c) => c.scope === 'building:BB'), 'the silent client to be dropped', 20_000);
  t.same(server.app.liveWebSocketStats().clients.map((c) => c.scope), ['building:BA']);
  await waitFor(() => pings >= 2, 'pings to the live client');
  t.same(server.app.liveWebSocketStats().clients.map((c) => c.scope), ['building:BA'], 'the live client answered its pings and stays');
  silent.ws.resume();
  t.equal((await silent.closed).code, 1006, 'the dropped client sees an abnormal close');
  t.equal(server.app.liveWebSocketStats().dropped.keepalive, 1, 'counted as dropped by the keepalive');
  live.ws.close();
});

t.test('a flush goes out a chunk of clients a turn, and always ends before the next one starts', async (t) => {
  const server = await startLiveTestServer(t, { live: { fanOutChunk: 2 } });
  const token = await server.token('admin', ADMIN_PASSWORD);
  const clients: ReturnType<typeof connect>[] = [];
  // One after the other, so the server's order is the connection order.
  for (const format of ['full', 'delta', 'full', 'delta', 'full']) {
    const client = connect(`${server.wsUrl}/ws/live?format=${format}&token=${token}`);
    await waitFor(() => client.received === 1, 'a snapshot');
    clients.push(client);
  }
  const sent = () => server.app.liveWebSocketStats().clients.map((c) => c.messagesSent);
  t.same(sent(), [1, 1, 1, 1, 1], 'five snapshots');

  server.feed.update('A-101', { powerW: 11 });
  t.same(sent(), [2, 2, 1, 1, 1], 'in the turn of the flush: the first chunk of two clients');
  server.feed.update('A-101', { powerW: 12, online: false });
  t.same(sent(), [3, 3, 2, 2, 2], 'the next flush first ends the one before, then starts its own chunk');
  server.feed.update('A-101', { powerW: 13, online: true });
  await waitFor(() => sent().every((n) => n === 4), 'every client sent every flush');
  const a101 = server.feed.get('A-101');
  await waitFor(() => clients.every((c) => isDeepStrictEqual(c.latest.get('A-101'), a101)), 'every client at the last state');
  t.pass('whole-state and delta clients all end at the last state, a field changed and changed back included');
  const powers = clients[0]!.messages.slice(1).map((m) => (m.dormitories as DormitoryLiveState[])[0]!.powerW);
  t.same(powers, [11, 12, 13], 'a client gets the flushes in order');
  for (const c of clients) c.ws.close();
});
