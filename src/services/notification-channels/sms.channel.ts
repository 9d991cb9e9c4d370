import type { Logger } from 'pino';
import type { Executor } from '../../db/executor.ts';
import type { OutboxNotification } from '../../db/notification.repository.ts';
import type { NotificationChannel } from './channel.ts';

/** An SMS gateway: a real provider implements this; throws when it cannot send. */
export interface SmsProvider {
  send(phone: string, text: string): Promise<void>;
}

/** The sandbox provider: logs each message and keeps it (for tests and demos); sends nothing. */
export class LoggingSmsSandbox implements SmsProvider {
  readonly sent: { phone: string; text: string }[] = [];

  constructor(private readonly log: Logger) {}

  async send(phone: string, text: string): Promise<void> {
    this.sent.push({ phone, text });
    this.log.info({ phone, text }, 'sms (sandbox, not sent)');
  }
}

/** Texts a student at the phone number on their record; staff and students without one: not applicable. */
export class SmsChannel implements NotificationChannel {
  readonly name = 'sms';

  constructor(private readonly db: Executor, private readonly provider: SmsProvider) {}

  async deliver(notification: OutboxNotification): Promise<boolean> {
    if (notification.audience !== 'student') return false;
    const row = await this.db.selectFrom('occupants').select('phone').where('student_number', '=', notification.recipient).executeTakeFirst();
    if (!row?.phone) return false;
    await this.provider.send(row.phone, notification.message);
    return true;
  }
}
