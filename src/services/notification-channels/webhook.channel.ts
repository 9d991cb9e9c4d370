import { createHmac } from 'node:crypto';
import type { OutboxNotification } from '../../db/notification.repository.ts';
import { notificationPayload, type NotificationChannel } from './channel.ts';

export const SIGNATURE_HEADER = 'x-campus-signature';

/** `sha256=<hex HMAC-SHA256 of the raw body>` with the shared secret. */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * POSTs each notification as JSON to one URL, signed over the raw body (header
 * `X-Campus-Signature: sha256=<hex>`, secret `NOTIFY_WEBHOOK_SECRET`). Anything but a 2xx, a
 * refused connection or a timeout is a failure the dispatcher retries. Delivery is at least
 * once: a receiver dedupes by `id` (also sent as `X-Notification-Id`).
 */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';

  constructor(private readonly options: { url: string; secret: string; timeoutMs?: number }) {}

  async deliver(notification: OutboxNotification): Promise<boolean> {
    const body = JSON.stringify(notificationPayload(notification));
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhookBody(this.options.secret, body), 'x-notification-id': String(notification.id) },
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    return true;
  }
}
