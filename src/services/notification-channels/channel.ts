import type { OutboxNotification } from '../../db/notification.repository.ts';

/**
 * A way out for notifications (webhook, SMS, e-mail). `deliver` resolves `true` once the channel
 * has taken the notification, `false` when it does not apply to this recipient (no phone number,
 * say), and throws when the channel is down: the dispatcher then retries it with backoff.
 */
export interface NotificationChannel {
  readonly name: string;
  deliver(notification: OutboxNotification): Promise<boolean>;
}

/** The JSON every channel that carries a document sends: the notification, no delivery bookkeeping. */
export function notificationPayload(n: OutboxNotification): Record<string, unknown> {
  return { id: n.id, recipient: n.recipient, audience: n.audience, dormitoryId: n.dormitoryId, kind: n.kind, message: n.message, details: n.details, createdAt: n.createdAt };
}
