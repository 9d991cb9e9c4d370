import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import t, { type Test } from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { enqueueFor } from '../../src/db/notification.repository.ts';
import type { Announcement } from '../../src/domain/notifications/announcement.ts';
import { channelsOf } from '../../src/services/notification-service.ts';
import { NotificationDispatcher } from '../../src/services/notification-dispatcher.ts';
import { dispatcherOptions, notificationCampus } from '../helpers/notification-campus.ts';
import type { TestDatabase } from '../helpers/test-database.ts';

/**
 * The e-mail channel (issue 11, docs/notifications.md) against a real SMTP peer (smtp-server,
 * in process, on an ephemeral port): delivered to the student's address with the kind's
 * subject and the message as the body; with the peer down the row stays in the outbox and is
 * delivered, once, when it returns. Retries are driven by the injected clock and explicit
 * dispatch passes, never by waiting. PGlite, and PostgreSQL with DATABASE_URL.
 */
const START = Date.parse('2026-10-01T04:00:00Z'); // 12:00 in UTC+8
const FROM = 'Campus Prepaid <noreply@campus.example>';
const log = pino({ level: 'silent' });

interface Mail {
  readonly from: string;
  readonly to: string[];
  readonly user: string | undefined;
  readonly raw: string;
}

const campus = (t: Test) => notificationCampus(t, [{ student_number: 'S1', name: 'S1', email: 'li.lei@students.example' }, { student_number: 'S2', name: 'S2' }]);

const note = (kind: Announcement['kind'], message: string): Announcement => ({ dormitoryId: 'd1', kind, audience: 'students', message, details: {}, at: new Date(START) });

/** A port that was free a moment ago, closed again: connecting to it is refused. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A real SMTP server that keeps what it receives and checks the credentials it is given. */
async function smtpPeer(t: Test, port: number, received: Mail[]): Promise<void> {
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === 'p@ss word') callback(null, { user: auth.username });
      else callback(new Error('invalid credentials'));
    },
    onData(stream, session, callback) {
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        received.push({ from: mailFrom === false ? '' : mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), user: session.user as string | undefined, raw: Buffer.concat(parts).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

/** A header of a received message, and its text body (quoted-printable decoded). */
function header(raw: string, name: string): string | undefined {
  const head = raw.split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1];
}
function body(raw: string): string {
  const text = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  if (!/quoted-printable/i.test(header(raw, 'Content-Transfer-Encoding') ?? '')) return text.trimEnd();
  const bytes = text.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8').trimEnd();
}

function dispatcherFor(database: TestDatabase, clock: SimulatedClock, port: number): NotificationDispatcher {
  const config = loadConfig({ NOTIFY_SMTP_URL: `smtp://mailer:${encodeURIComponent('p@ss word')}@127.0.0.1:${port}`, NOTIFY_EMAIL_FROM: FROM });
  const channels = channelsOf(config, database.db, log);
  return new NotificationDispatcher(dispatcherOptions(database, clock, { channels }));
}

t.test('a notification is e-mailed to the student with the right recipient, subject and body', async (t) => {
  const database = await campus(t);
  const port = await freePort();
  const received: Mail[] = [];
  await smtpPeer(t, port, received);
  t.same(channelsOf(loadConfig({}), database.db, log), [], 'no SMTP URL: no e-mail channel');
  const dispatcher = dispatcherFor(database, new SimulatedClock(START, 0), port);
  const message = 'A recharge of ¥12.34 arrived for d1 (electricity): balance ¥56.78.';
  await enqueueFor(database.db, [
    { announcement: note('recharge_arrived', message), to: { recipient: 'S1', audience: 'student' } },
    { announcement: note('recharge_arrived', message), to: { recipient: 'S2', audience: 'student' } },
    { announcement: note('arrears_cut', 'cut'), to: { recipient: 'admin', audience: 'staff' } },
  ]);
  t.same(await dispatcher.runOnce(), { delivered: 3, retried: 0, postponed: 0, failed: 0 }, 'every row is done (e-mail does not apply to S2, who has no address, nor to staff)');
  t.equal(received.length, 1, 'one message sent');
  const mail = received[0]!;
  t.same([mail.from, mail.to, mail.user], ['noreply@campus.example', ['li.lei@students.example'], 'mailer'], "the envelope: from the configured address, to the student's, signed in with the URL's credentials");
  t.equal(header(mail.raw, 'To'), 'li.lei@students.example', 'the To header');
  t.equal(header(mail.raw, 'From'), FROM, 'the From header');
  t.equal(header(mail.raw, 'Subject'), '[Campus prepaid] Recharge arrived: d1', "the subject names the kind and the room");
  const id = await database.db.selectFrom('notifications').select('id').where('recipient', '=', 'S1').executeTakeFirstOrThrow();
  t.equal(header(mail.raw, 'X-Notification-Id'), String(id.id), 'the outbox id, for dedupe');
  t.equal(body(mail.raw), message, 'the body is the message');
  const row = await database.db.selectFrom('notifications').select(['delivery_state', 'delivered_channels']).where('recipient', '=', 'S1').executeTakeFirstOrThrow();
  t.same(row, { delivery_state: 'delivered', delivered_channels: ['email'] }, 'recorded as delivered by e-mail');
});

t.test('the SMTP peer is down: the notification stays in the outbox and is delivered once when it returns', async (t) => {
  const database = await campus(t);
  const clock = new SimulatedClock(START, 0);
  const port = await freePort();
  const dispatcher = dispatcherFor(database, clock, port);
  await enqueueFor(database.db, [{ announcement: note('low_balance', 'Electricity balance of d1 is below ¥10.'), to: { recipient: 'S1', audience: 'student' } }]);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 1, postponed: 0, failed: 0 }, 'the first attempt fails: connection refused');
  let row = await database.db.selectFrom('notifications').selectAll().executeTakeFirstOrThrow();
  t.same([row.delivery_state, row.attempts, new Date(row.next_attempt_at).getTime()], ['pending', 1, START + 30_000], 'still in the outbox, retried after the base backoff');
  t.match(row.last_error, /^email: /, 'the failure is recorded');
  clock.advance(30_000);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 1, postponed: 0, failed: 0 }, 'down again at the retry');

  const received: Mail[] = [];
  await smtpPeer(t, port, received);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 0, failed: 0 }, 'the peer is back, the backoff holds');
  t.equal(received.length, 0, 'nothing sent before the retry is due');
  clock.advance(60_000);
  t.same(await dispatcher.runOnce(), { delivered: 1, retried: 0, postponed: 0, failed: 0 }, 'delivered when the retry is due');
  clock.advance(3_600_000);
  t.same(await dispatcher.runOnce(), { delivered: 0, retried: 0, postponed: 0, failed: 0 }, 'and never again');
  t.equal(received.length, 1, 'the peer received it exactly once');
  t.same([received[0]!.to, header(received[0]!.raw, 'Subject'), body(received[0]!.raw)], [['li.lei@students.example'], '[Campus prepaid] Low balance: d1', 'Electricity balance of d1 is below ¥10.'], 'the right message');
  row = await database.db.selectFrom('notifications').selectAll().executeTakeFirstOrThrow();
  t.same([row.delivery_state, row.attempts, new Date(row.delivered_at!).getTime()], ['delivered', 2, START + 90_000], 'delivered at the injected clock after two failed attempts');
});

t.test('the e-mail configuration: an SMTP URL needs a From address; only smtp: and smtps:', async (t) => {
  const refused = (env: Record<string, string>, variable: string, why: string) => {
    try {
      loadConfig(env);
      t.fail(why);
    } catch (error) {
      t.same([error instanceof ConfigError, (error as ConfigError).variable], [true, variable], why);
    }
  };
  refused({ NOTIFY_SMTP_URL: 'smtp://127.0.0.1:2525' }, 'NOTIFY_EMAIL_FROM', 'no From address');
  refused({ NOTIFY_SMTP_URL: 'http://127.0.0.1:2525', NOTIFY_EMAIL_FROM: FROM }, 'NOTIFY_SMTP_URL', 'not an SMTP URL');
  refused({ NOTIFY_SMTP_URL: 'smtp://127.0.0.1:2525', NOTIFY_EMAIL_FROM: 'not an address' }, 'NOTIFY_EMAIL_FROM', 'a From that is no address');
});
