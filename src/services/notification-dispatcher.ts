import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { deliveredSince, dueNotifications, recordDelivery, type OutboxNotification } from '../db/notification.repository.ts';
import type { TimeZone } from '../domain/local-time.ts';
import { backoffMs, quietUntil, type QuietHours } from '../domain/notifications/delivery-policy.ts';
import type { NotificationChannel } from './notification-channels/channel.ts';

export interface DispatcherOptions {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly channels: readonly NotificationChannel[];
  /**
   * The campus's zone quiet hours are judged in (its wall clock, daylight saving included): a zone,
   * or how to read it (each pass reads it once, so a zone changed in the campus settings applies
   * from the next pass).
   */
  readonly zone: TimeZone | (() => Promise<TimeZone>);
  readonly quietHours: QuietHours | null;
  /** Kinds delivered even in quiet hours (a safety trip cannot wait for the morning). */
  readonly urgentKinds?: ReadonlySet<string>;
  /** At most `max` deliveries per recipient in any `windowMs`; the rest wait. */
  readonly throttle: { readonly max: number; readonly windowMs: number };
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** After this many failed attempts a row is `failed` (it stays in the in-app list). */
  readonly maxAttempts: number;
  readonly pollMs: number;
  readonly batchSize?: number;
}

export interface DispatchSummary {
  delivered: number;
  retried: number;
  postponed: number;
  failed: number;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 500);

/**
 * Delivers the outbox (docs/notifications.md): every pending row due now goes through each
 * channel that has not taken it yet. A channel that throws leaves the row pending with
 * exponential backoff on the injected clock; channels that did take it are not asked again.
 * Quiet hours and per-recipient throttling postpone a row; they never drop it.
 */
export class NotificationDispatcher {
  private cancel: (() => void) | undefined;
  private running: Promise<DispatchSummary> | undefined;
  private stopped = false;

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      void this.runOnce()
        .catch((error: unknown) => this.options.log.warn({ err: error }, 'notification dispatch failed; retried next poll'))
        .finally(() => {
          if (!this.stopped) this.cancel = this.options.clock.schedule(this.options.pollMs, tick);
        });
    };
    this.cancel = this.options.clock.schedule(this.options.pollMs, tick);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.running?.catch(() => undefined);
  }

  /** One pass over the due rows (one pass at a time). */
  runOnce(): Promise<DispatchSummary> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<DispatchSummary> {
    const o = this.options;
    const now = o.clock.now();
    const summary: DispatchSummary = { delivered: 0, retried: 0, postponed: 0, failed: 0 };
    const due = await dueNotifications(o.db, new Date(now), o.batchSize ?? 200);
    if (due.length === 0) return summary;
    const zone = typeof o.zone === 'function' ? await o.zone() : o.zone;
    for (const n of due) {
      const waitUntil = await this.heldUntil(n, now, zone);
      if (waitUntil !== undefined) {
        await recordDelivery(o.db, n.id, { state: 'postponed', nextAttemptAt: new Date(waitUntil) });
        summary.postponed++;
        continue;
      }
      const done = new Set(n.deliveredChannels);
      let failure: string | null = null;
      for (const channel of o.channels) {
        if (done.has(channel.name)) continue;
        try {
          await channel.deliver(n);
          done.add(channel.name);
        } catch (error) {
          failure = `${channel.name}: ${errorText(error)}`;
        }
      }
      const channels = [...done];
      if (failure === null) {
        await recordDelivery(o.db, n.id, { state: 'delivered', channels, at: new Date(now) });
        summary.delivered++;
        continue;
      }
      const attempts = n.attempts + 1;
      if (attempts >= o.maxAttempts) {
        await recordDelivery(o.db, n.id, { state: 'failed', channels, attempts, error: failure });
        o.log.error({ notification: n.id, attempts, error: failure }, 'notification given up after its last attempt');
        summary.failed++;
        continue;
      }
      const nextAttemptAt = new Date(now + backoffMs(attempts, o.backoff.baseMs, o.backoff.maxMs));
      await recordDelivery(o.db, n.id, { state: 'retry', channels, attempts, nextAttemptAt, error: failure });
      o.log.warn({ notification: n.id, attempts, error: failure, nextAttemptAt }, 'notification delivery failed; retried with backoff');
      summary.retried++;
    }
    return summary;
  }

  /** Quiet hours (unless urgent) or the recipient's throttle: when the row may go, or undefined for now. */
  private async heldUntil(n: OutboxNotification, now: number, zone: TimeZone): Promise<number | undefined> {
    const o = this.options;
    if (!o.urgentKinds?.has(n.kind)) {
      const quiet = quietUntil(now, o.quietHours, zone);
      if (quiet !== undefined) return quiet;
    }
    if ((await deliveredSince(o.db, n.recipient, new Date(now - o.throttle.windowMs))) >= o.throttle.max) return now + Math.ceil(o.throttle.windowMs / o.throttle.max);
    return undefined;
  }
}
