import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import { ConfigError, type Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { campusZoneReader } from '../domain/campus-settings.ts';
import { ZoneRules, type TimeZone } from '../domain/local-time.ts';
import { parseQuietHours } from '../domain/notifications/delivery-policy.ts';
import type { NotificationChannel } from './notification-channels/channel.ts';
import { EmailChannel, smtpTransport } from './notification-channels/email.channel.ts';
import { LoggingSmsSandbox, SmsChannel } from './notification-channels/sms.channel.ts';
import { WebhookChannel } from './notification-channels/webhook.channel.ts';
import { NotificationDispatcher } from './notification-dispatcher.ts';

/** A database with no campus yet: the zone campuses are created in by default. */
const DEFAULT_ZONE = new ZoneRules('Asia/Shanghai');

/**
 * The zone quiet hours follow: the first campus's (by id), read on each dispatch pass, so a zone
 * changed in the campus settings applies from the next pass.
 */
export function quietHoursZone(db: Kysely<Database>): () => Promise<TimeZone> {
  const zoneOf = campusZoneReader();
  return async () => {
    const campus = await db.selectFrom('campuses').select(['time_zone', 'utc_offset_minutes']).orderBy('id').executeTakeFirst();
    return campus ? zoneOf(campus) : DEFAULT_ZONE;
  };
}

/** Kinds delivered even in quiet hours. */
const URGENT_KINDS: ReadonlySet<string> = new Set(['safety_trip', 'arrears_cut']);

/** The configured channels (docs/notifications.md); none configured: the in-app list only. */
export function channelsOf(config: Config, db: Kysely<Database>, log: Logger): NotificationChannel[] {
  const channels: NotificationChannel[] = [];
  if (config.notifyWebhookUrl) {
    if (!config.notifyWebhookSecret) throw new ConfigError('NOTIFY_WEBHOOK_SECRET', 'is required with NOTIFY_WEBHOOK_URL');
    channels.push(new WebhookChannel({ url: config.notifyWebhookUrl, secret: config.notifyWebhookSecret }));
  }
  if (config.notifySmtpUrl) {
    if (!config.notifyEmailFrom) throw new ConfigError('NOTIFY_EMAIL_FROM', 'is required with NOTIFY_SMTP_URL');
    channels.push(new EmailChannel(db, smtpTransport(config.notifySmtpUrl), config.notifyEmailFrom));
  }
  if (config.notifySms === 'sandbox') channels.push(new SmsChannel(db, new LoggingSmsSandbox(log)));
  return channels;
}

/** Builds the dispatcher from the configuration, on the campus's wall clock (the first campus's zone). */
export async function createNotificationDispatcher(config: Config, deps: { db: Kysely<Database>; clock: Clock; log: Logger }): Promise<NotificationDispatcher> {
  let quietHours;
  try {
    quietHours = parseQuietHours(config.notifyQuietHours);
  } catch (error) {
    throw new ConfigError('NOTIFY_QUIET_HOURS', error instanceof Error ? error.message : String(error));
  }
  return new NotificationDispatcher({
    db: deps.db,
    clock: deps.clock,
    log: deps.log.child({ component: 'notifications' }),
    channels: channelsOf(config, deps.db, deps.log),
    zone: quietHoursZone(deps.db),
    quietHours,
    urgentKinds: URGENT_KINDS,
    throttle: { max: config.notifyThrottlePerHour, windowMs: 3_600_000 },
    backoff: { baseMs: 30_000, maxMs: 3_600_000 },
    maxAttempts: 12,
    pollMs: config.notifyPollMs,
  });
}
