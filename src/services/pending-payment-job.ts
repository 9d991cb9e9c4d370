import { pendingPaymentsDue, recordPaymentQuery, type PaymentRecord } from '../db/payment.repository.ts';
import { backoffMs } from '../domain/notifications/delivery-policy.ts';
import type { AppContext } from '../app-context.ts';
import { queryPayment, type SettleOutcome } from './payment.service.ts';
import type { PaymentProviders } from './payments/payment-providers.ts';
import type { CreditListener } from './recharge.service.ts';

export interface PendingPaymentJobOptions {
  readonly context: AppContext;
  readonly providers: PaymentProviders;
  readonly listener?: CreditListener | undefined;
  /** A payment pending longer than this is asked about. */
  readonly afterMs: number;
  /** One pass every `intervalMs` of the injected clock. */
  readonly intervalMs: number;
  /** At most this many payments asked about per pass (the longest waiting first). */
  readonly batchSize: number;
  /** A payment still pending (or whose ask failed) is asked again after baseMs * 2^(n-1), at most maxMs. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
}

export type PendingPaymentSummary = Record<SettleOutcome | 'pending' | 'errors', number>;

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 500);

/**
 * The pending-payment job (docs/payments.md): each pass asks the providers about payments
 * pending longer than `afterMs` whose backoff has passed, and settles what they answer through
 * the same `settlePayment` as the webhook (a payment credits once, whichever comes first). A
 * payment the provider still calls pending is asked again with exponential backoff, and once
 * past the provider's expiry it is closed. Runs on the injected clock; `stop` waits for a pass
 * in flight, so the database is not closed under it.
 */
export class PendingPaymentJob {
  private cancel: (() => void) | undefined;
  private running: Promise<PendingPaymentSummary> | undefined;
  private stopped = false;
  private waiters: ((summary: PendingPaymentSummary) => void)[] = [];

  constructor(private readonly options: PendingPaymentJobOptions) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      // The next pass is scheduled first: one per interval whatever a pass takes (a tick during a pass joins it).
      this.cancel = this.options.context.clock.schedule(this.options.intervalMs, tick);
      void this.runOnce().catch((error: unknown) => this.options.context.log.warn({ err: error }, 'pending-payment pass failed; retried next interval'));
    };
    this.cancel = this.options.context.clock.schedule(this.options.intervalMs, tick);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.running?.catch(() => undefined);
  }

  /** One pass (one at a time: a call during a pass answers that pass). */
  runOnce(): Promise<PendingPaymentSummary> {
    this.running ??= this.pass()
      .finally(() => {
        this.running = undefined;
      })
      .then((summary) => {
        // After `running` is cleared: a waiter that starts the next pass at once gets a new one.
        for (const resolve of this.waiters.splice(0)) resolve(summary);
        return summary;
      });
    return this.running;
  }

  /** Resolves with the summary of the next pass to complete, however it was started (tests wait on this, not on time). */
  nextPass(): Promise<PendingPaymentSummary> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async pass(): Promise<PendingPaymentSummary> {
    const { context, afterMs, batchSize } = this.options;
    const now = context.clock.now();
    const summary: PendingPaymentSummary = { credited: 0, failed: 0, closed: 0, duplicate: 0, pending: 0, errors: 0 };
    for (const payment of await pendingPaymentsDue(context.db, { createdBefore: new Date(now - afterMs), now: new Date(now), limit: batchSize })) {
      if (this.stopped) break;
      try {
        const { outcome } = await queryPayment(context, this.options.providers, payment.reference, { listener: this.options.listener, by: 'job' });
        summary[outcome]++;
        if (outcome === 'pending') await recordPaymentQuery(context.db, payment.id, { nextQueryAt: this.nextAsk(payment, now), error: null });
      } catch (error) {
        summary.errors++;
        await recordPaymentQuery(context.db, payment.id, { nextQueryAt: this.nextAsk(payment, now), error: errorText(error) });
        context.log.warn({ err: error, reference: payment.reference, provider: payment.provider, attempts: payment.queryAttempts + 1 }, 'pending payment query failed; asked again with backoff');
      }
    }
    if (summary.credited + summary.closed + summary.failed > 0) context.log.info({ summary }, 'pending payments settled by query');
    return summary;
  }

  /** Backoff, but never past the provider's expiry by more than one interval (the payment is closed then). */
  private nextAsk(payment: PaymentRecord, now: number): Date {
    const { backoff, intervalMs, providers } = this.options;
    const next = now + backoffMs(payment.queryAttempts + 1, backoff.baseMs, backoff.maxMs);
    const expiry = providers.get(payment.provider)?.paymentExpiryMs;
    const expiresAt = expiry === undefined ? Infinity : Date.parse(payment.createdAt) + expiry;
    return new Date(now < expiresAt ? Math.min(next, expiresAt + intervalMs) : next);
  }
}
