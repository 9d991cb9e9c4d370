import nodemailer, { type Transporter } from 'nodemailer';
import type { Executor } from '../../db/executor.ts';
import type { OutboxNotification } from '../../db/notification.repository.ts';
import type { NotificationChannel } from './channel.ts';

/** What a message is about, by notification kind (docs/notifications.md); an unknown kind says "Notice". */
const SUBJECTS: Readonly<Record<string, string>> = {
  low_balance: 'Low balance',
  arrears_cut: 'Supply cut for arrears',
  restored: 'Supply restored',
  recharge_arrived: 'Recharge arrived',
  safety_trip: 'Safety trip',
  settlement: 'Check-out settlement',
  days_left: 'Days of credit left',
};

export function emailSubject(n: OutboxNotification): string {
  const about = SUBJECTS[n.kind] ?? 'Notice';
  return n.dormitoryId === null ? `[Campus prepaid] ${about}` : `[Campus prepaid] ${about}: ${n.dormitoryId}`;
}

/** Every SMTP step is bounded, so a peer that accepts and then hangs is a failure the dispatcher retries, not a stuck pass. */
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 } as const;

/**
 * An SMTP transport from `smtp://user:pass@host:port` or `smtps://...` (implicit TLS): the URL
 * comes from the environment (NOTIFY_SMTP_URL), never the repository. One connection per
 * message (no pool): the outbox is small and a pool would hold a socket open between polls.
 */
export function smtpTransport(smtpUrl: string): Transporter {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  return nodemailer.createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    ...(url.username === '' ? {} : { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
    ...TIMEOUTS,
  });
}

/**
 * E-mails a student at the address on their record (plain text: the notification's message);
 * staff and students without an address: not applicable. A refused connection, a timeout or an
 * SMTP error throws, and the row stays in the outbox for the dispatcher's next attempt. Delivery
 * is at least once: `X-Notification-Id` lets a mailbox rule dedupe.
 */
export class EmailChannel implements NotificationChannel {
  readonly name = 'email';

  constructor(
    private readonly db: Executor,
    private readonly transport: Pick<Transporter, 'sendMail'>,
    private readonly from: string,
  ) {}

  async deliver(notification: OutboxNotification): Promise<boolean> {
    if (notification.audience !== 'student') return false;
    const row = await this.db.selectFrom('occupants').select('email').where('student_number', '=', notification.recipient).executeTakeFirst();
    if (!row?.email) return false;
    const info = await this.transport.sendMail({
      from: this.from,
      to: row.email,
      subject: emailSubject(notification),
      text: notification.message,
      headers: { 'X-Notification-Id': String(notification.id) },
    });
    if (info.rejected.length > 0) throw new Error(`the SMTP server rejected ${info.rejected.length} recipient(s)`);
    return true;
  }
}
