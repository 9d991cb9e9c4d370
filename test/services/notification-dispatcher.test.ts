// CI: also on PGlite + the embedded broker (outbox claims on PGlite's single connection).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import t, { type Test } from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { enqueueFor } from '../../src/db/notification.repository.ts';
import type { Announcement } from '../../src/domain/notifications/announcement.ts';
import { backoffMs, parseQuietHours, quietUntil } from '../../src/domain/notifications/delivery-policy.ts';
import { LoggingSmsSandbox, SmsChannel } from '../../src/services/notification-channels/sms.channel.ts';
import { SIGNATURE_HEADER, signWebhookBody, WebhookChannel } from '../../src/services/notification-channels/webhook.channel.ts';
import { NotificationDispatcher } from '../../src/services/notification-dispatcher.ts';
import { quietHoursZone } from '../../src/services/notification-service.ts';
import { dispatcherOptions, notificationCampus } from '../helpers/notification-campus.ts';

/**
 * The dispatcher (issue 11, docs/notifications.md): a notification survives its channel being
 * down and is delivered, once and signed, when it returns; backoff runs on the injected clock.
 * Runs on PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
const START = Date.parse('2026-10-01T04:00:00Z'); // 12:00 in UTC+8
const SECRET = 'test-webhook-secret';
const log = pino({ level: 'silent' });

const campus = (t: Test) => notificationCampus(t, [{ student_number: 'S1', name: 'S1', phone: '13900000001' }, { student_number: 'S2', name: 'S2' }]);

const note = (kind: Announcement['kind'], message: string, at = START): Announcement => ({ dormitoryId: 'd1', kind, audience: 'students', message, details: { n: message }, at: new Date(at) });

const options = dispatcherOptions;

interface Received {
  readonly raw: string;
  readonly signature: string | undefined;
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function receiver(received: Received[]): Server {
  return createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      received.push({ raw: Buffer.concat(parts).toString('utf8'), signature: req.headers[SIGNATURE_HEADER] as string | undefined });
      res.writeHead(204).end();
    });
  });
}

t.test('the webhook endpoint is down: the notification stays in the outbox, is retried with backoff, then delivered once and signed', async (t) => {
  const database = await campus(t);
  const { db } = database;
  const clock = new SimulatedClock(START, 0);
  const received: Received[] = [];
  // Find a free port, then leave it closed: the endpoint is down (connection refused).
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const webhook = new WebhookChannel({ url: `http://127.0.0.1:${port}/hook`, secret: SECRET, timeoutMs: 2000 });
  const dispatcher = new NotificationDispatcher(options(database, clock, { channels: [webhook] }));
  await enqueueFor(db, [{ announcement: note('arrears_cut', 'cut for arrears'), to: { recipient: 'S1', audience: 'student' } }]);

  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 1, postponed: 0, failed: 0 }, 'first attempt fails');
  let row = await db.selectFrom('notifications').selectAll().executeTakeFirstOrThrow();
  t.equal(row.delivery_state, 'pending', 'still in the outbox');
  t.equal(row.attempts, 1);
  t.equal(new Date(row.next_attempt_at).getTime(), START + 30_000, 'first backoff: the base');
  t.match(row.last_error, /^webhook: /);

  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 0, failed: 0 }, 'nothing is due before the backoff ends');
  clock.advance(30_000);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 1, postponed: 0, failed: 0 }, 'second attempt fails too');
  row = await db.selectFrom('notifications').selectAll().executeTakeFirstOrThrow();
  t.equal(new Date(row.next_attempt_at).getTime(), START + 30_000 + 60_000, 'the backoff doubles');

  const server = receiver(received);
  await listen(server, port);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 0, failed: 0 }, 'the endpoint is back, but the backoff holds');
  t.equal(received.length, 0);
  clock.advance(60_000);
  t.same(await dispatcher.runOnce(), { delivered: 1, retried: 0, postponed: 0, failed: 0 }, 'delivered once the endpoint is back');
  clock.advance(3_600_000);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 0, failed: 0 }, 'and never again');
  t.equal(received.length, 1, 'the endpoint received it exactly once');
  const got = received[0]!;
  t.equal(got.signature, signWebhookBody(SECRET, got.raw), 'the signature is the HMAC-SHA256 of the raw body');
  t.not(got.signature, signWebhookBody('another-secret', got.raw), 'and depends on the secret');
  t.match(JSON.parse(got.raw), { recipient: 'S1', kind: 'arrears_cut', message: 'cut for arrears', dormitoryId: 'd1' });
  row = await db.selectFrom('notifications').selectAll().executeTakeFirstOrThrow();
  t.equal(row.delivery_state, 'delivered');
  t.same(row.delivered_channels, ['webhook']);
  t.equal(new Date(row.delivered_at!).getTime(), START + 90_000, 'delivered at the injected clock');
});

t.test('a channel that took it is not asked again when another fails; the last attempt gives up', async (t) => {
  const database = await campus(t);
  const clock = new SimulatedClock(START, 0);
  const sandbox = new LoggingSmsSandbox(log);
  const broken = { name: 'broken', deliver: async () => Promise.reject(new Error('down')) };
  const dispatcher = new NotificationDispatcher(options(database, clock, { channels: [new SmsChannel(database.db, sandbox), broken], maxAttempts: 2 }));
  await enqueueFor(database.db, [
    { announcement: note('low_balance', 'low'), to: { recipient: 'S1', audience: 'student' } },
    { announcement: note('low_balance', 'low'), to: { recipient: 'S2', audience: 'student' } },
  ]);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 2, postponed: 0, failed: 0 });
  clock.advance(30_000);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 0, failed: 2 }, 'given up after maxAttempts');
  t.same(sandbox.sent, [{ phone: '13900000001', text: 'low' }], 'the SMS went once, to the student with a phone; S2 has none');
  const rows = await database.db.selectFrom('notifications').select(['recipient', 'delivery_state', 'delivered_channels', 'attempts']).orderBy('id').execute();
  t.same(rows, [
    { recipient: 'S1', delivery_state: 'failed', delivered_channels: ['sms'], attempts: 2 },
    { recipient: 'S2', delivery_state: 'failed', delivered_channels: ['sms'], attempts: 2 },
  ]);
});

t.test('quiet hours postpone to their end (urgent kinds excepted); throttling postpones per recipient', async (t) => {
  const database = await campus(t);
  const night = Date.parse('2026-10-01T15:00:00Z'); // 23:00 in UTC+8
  const clock = new SimulatedClock(night, 0);
  const seen: string[] = [];
  const channel = { name: 'memory', deliver: async (n: { recipient: string; kind: string }) => (seen.push(`${n.recipient}:${n.kind}`), true) };
  const dispatcher = new NotificationDispatcher(
    options(database, clock, { channels: [channel], quietHours: parseQuietHours('22:00-07:00'), urgentKinds: new Set(['safety_trip']), throttle: { max: 1, windowMs: 43_200_000 } }),
  );
  await enqueueFor(database.db, [
    { announcement: note('low_balance', 'low', night), to: { recipient: 'S1', audience: 'student' } },
    { announcement: note('safety_trip', 'trip', night), to: { recipient: 'S2', audience: 'student' } },
    { announcement: note('recharge_arrived', 'paid', night), to: { recipient: 'S2', audience: 'student' } },
  ]);
  t.same(await dispatcher.runOnce(), { delivered: 1, retried: 0, postponed: 2, failed: 0 });
  t.same(seen, ['S2:safety_trip'], 'only the urgent one goes at night');
  const morning = Date.parse('2026-10-01T23:00:00Z'); // 07:00 local
  const held = await database.db.selectFrom('notifications').select(['recipient', 'next_attempt_at']).where('delivery_state', '=', 'pending').orderBy('id').execute();
  t.same(held.map((r) => [r.recipient, new Date(r.next_attempt_at).getTime()]), [['S1', morning], ['S2', morning]], 'postponed to the end of quiet hours');
  clock.advance(morning - night);
  t.same(await dispatcher.runOnce(), { delivered: 1, retried: 0, postponed: 1, failed: 0 });
  t.same(seen, ['S2:safety_trip', 'S1:low_balance'], 'S2 had one in the last 12 hours: throttled');
  const s2 = await database.db.selectFrom('notifications').select('next_attempt_at').where('delivery_state', '=', 'pending').executeTakeFirstOrThrow();
  t.equal(new Date(s2.next_attempt_at).getTime(), morning + 43_200_000);
  clock.advance(43_200_000);
  t.same(await dispatcher.runOnce(), { delivered: 1, retried: 0, postponed: 0, failed: 0 });
  t.same(seen, ['S2:safety_trip', 'S1:low_balance', 'S2:recharge_arrived'], 'nothing is dropped');
});

t.test('quiet hours follow the campus’s IANA zone across both daylight saving nights (Europe/Berlin)', async (t) => {
  const database = await campus(t);
  await database.db.updateTable('campuses').set({ time_zone: 'Europe/Berlin', utc_offset_minutes: 60 }).where('id', '=', 'c').execute();
  // 01:30 CET on 29 March 2026, the spring-forward night: quiet until 07:00 CEST = 05:00Z.
  const spring = Date.parse('2026-03-29T00:30:00Z');
  const clock = new SimulatedClock(spring, 0);
  const seen: string[] = [];
  const channel = { name: 'memory', deliver: async (n: { recipient: string; kind: string }) => (seen.push(`${n.recipient}:${n.kind}`), true) };
  const dispatcher = new NotificationDispatcher(options(database, clock, { channels: [channel], quietHours: parseQuietHours('22:00-07:00'), zone: quietHoursZone(database.db) }));
  await enqueueFor(database.db, [{ announcement: note('low_balance', 'low', spring), to: { recipient: 'S1', audience: 'student' } }]);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 1, failed: 0 }, '01:30 CET is quiet');
  const pending = async () => new Date((await database.db.selectFrom('notifications').select('next_attempt_at').where('delivery_state', '=', 'pending').executeTakeFirstOrThrow()).next_attempt_at).toISOString();
  t.equal(await pending(), '2026-03-29T05:00:00.000Z', 'held until 07:00 CEST (a fixed +01:00 would say 06:00Z)');
  clock.advance(Date.parse('2026-03-29T04:59:00Z') - spring);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 0, failed: 0 }, '06:59 CEST: not due yet');
  clock.advance(60_000);
  t.same(await dispatcher.runOnce(), { delivered: 1, retried: 0, postponed: 0, failed: 0 }, '07:00 CEST: delivered');
  // 06:00 CET on 25 October 2026, after the fall-back: still quiet until 07:00 CET = 06:00Z.
  const autumn = Date.parse('2026-10-25T05:00:00Z');
  clock.advance(autumn - clock.now());
  await enqueueFor(database.db, [{ announcement: note('low_balance', 'again', autumn), to: { recipient: 'S1', audience: 'student' } }]);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 1, failed: 0 }, '06:00 CET is quiet (a fixed +02:00 would call it 07:00)');
  t.equal(await pending(), '2026-10-25T06:00:00.000Z', 'held until 07:00 CET');
  clock.advance(3_600_000);
  t.same(await dispatcher.runOnce(), { delivered: 1, retried: 0, postponed: 0, failed: 0 });
  t.same(seen, ['S1:low_balance', 'S1:low_balance'], 'both delivered once, after the quiet hours');
});

t.test('backoff and quiet-hours arithmetic', async (t) => {
  t.same([1, 2, 3, 10].map((n) => backoffMs(n, 1000, 5000)), [1000, 2000, 4000, 5000]);
  const q = parseQuietHours('22:00-07:00');
  t.equal(quietUntil(Date.parse('2026-10-01T04:00:00Z'), q, 480), undefined, 'noon is not quiet');
  t.equal(quietUntil(Date.parse('2026-10-01T20:00:00Z'), q, 480), Date.parse('2026-10-01T23:00:00Z'), '04:00 local waits until 07:00 the same day');
  t.equal(quietUntil(Date.parse('2026-10-01T14:00:00Z'), q, 480), Date.parse('2026-10-01T23:00:00Z'), '22:00 local waits until 07:00 next day');
  t.equal(parseQuietHours('off'), null);
  t.throws(() => parseQuietHours('25:00-07:00'));
});
