import { randomBytes } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import type { Purse } from '../db/database.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { openOccupancyOf } from '../db/occupancy.repository.ts';
import { completePayment, insertPayment, lockPayment, recordNotification, type PaymentRecord } from '../db/payment.repository.ts';
import { DomainError } from '../errors.ts';
import { SignatureError, type PaymentProvider, type SignedRequest } from './payments/payment-provider.ts';
import type { PaymentProviders } from './payments/payment-providers.ts';
import { creditInTransaction, settleRecharge, type CreditListener, type RechargeCommand } from './recharge.service.ts';

function providerOrThrow(providers: PaymentProviders, name: string): PaymentProvider {
  const provider = providers.get(name);
  if (!provider) throw new DomainError('PROVIDER_NOT_ENABLED', `payment provider ${name} is not enabled on this server`, 'provider');
  return provider;
}

/**
 * A student starts an online recharge of their own current dormitory: a pending payment with a
 * fresh reference (the provider's out-trade-no), and the provider's pay URL. Nothing is
 * credited until the provider's signed notification arrives.
 */
export async function startPayment(
  context: AppContext,
  providers: PaymentProviders,
  input: { providerName: string; studentId: string; purse: Purse; amount: number },
): Promise<{ payment: PaymentRecord; payUrl: string }> {
  const provider = providerOrThrow(providers, input.providerName);
  const stay = await openOccupancyOf(context.db, input.studentId);
  if (!stay) throw new DomainError('NOT_CHECKED_IN', `student ${input.studentId} lives in no dormitory now`);
  const reference = `${provider.name}-${randomBytes(12).toString('hex')}`;
  const payment = await context.db.transaction().execute(async (trx) => {
    const created = await insertPayment(trx, { provider: provider.name, reference, studentId: input.studentId, dormitoryId: stay.dormitoryId, purse: input.purse, amount: input.amount, createdAt: new Date(context.clock.now()) });
    await appendAudit(trx, { operator: input.studentId, action: 'payment.start', targetType: 'dormitory', targetId: stay.dormitoryId, details: { provider: provider.name, reference, purse: input.purse, amount: input.amount } });
    return created;
  });
  return { payment, payUrl: provider.createPayment({ reference, amountFen: input.amount, studentId: input.studentId, dormitoryId: stay.dormitoryId, purse: input.purse }).payUrl };
}

export type NotificationOutcome = 'credited' | 'failed' | 'duplicate';

/**
 * A provider's notification. Checked before anything is written: the signature over the raw
 * body (the provider's, constant-time), then the signing time within the tolerance of the
 * server's clock; anything else is a 401 and credits nothing. Then, in one transaction: the
 * notification id is recorded (a replay, even after a restart, finds it and credits nothing),
 * the payment is locked, its amount must be the one started, and a paid payment becomes a
 * recharge under the payment's reference (idempotent like every recharge).
 */
export async function receiveNotification(
  context: AppContext,
  providers: PaymentProviders,
  providerName: string,
  request: SignedRequest,
  listener?: CreditListener,
): Promise<{ outcome: NotificationOutcome; acknowledgement: unknown }> {
  const provider = providerOrThrow(providers, providerName);
  let notification;
  try {
    notification = provider.verify(request);
  } catch (error) {
    if (error instanceof SignatureError) throw new DomainError('SIGNATURE_INVALID', `the ${provider.name} notification was refused: ${error.message}`);
    throw error;
  }
  const now = context.clock.now();
  if (Math.abs(now - notification.signedAtMs) > context.config.webhookToleranceSeconds * 1000) {
    throw new DomainError('SIGNATURE_INVALID', `the ${provider.name} notification was signed outside the accepted time window`);
  }
  const result = await context.db.transaction().execute(async (trx) => {
    const first = await recordNotification(trx, { provider: provider.name, notificationId: notification.notificationId, reference: notification.reference, receivedAt: new Date(now) });
    if (!first) return { outcome: 'duplicate' as const };
    const payment = await lockPayment(trx, provider.name, notification.reference);
    if (!payment) throw new DomainError('PAYMENT_NOT_FOUND', `no ${provider.name} payment has reference ${notification.reference}`);
    if (payment.amount !== notification.amountFen) throw new DomainError('PAYMENT_AMOUNT_MISMATCH', `payment ${payment.reference} is for ${payment.amount} fen, the notification says ${notification.amountFen}`);
    if (payment.state !== 'pending') return { outcome: 'duplicate' as const };
    if (!notification.paid) {
      await completePayment(trx, payment.id, { state: 'failed', transactionId: notification.transactionId, rechargeId: null, at: new Date(now) });
      return { outcome: 'failed' as const };
    }
    // The payer is linked to the credit while they still live there (a student who checked out meanwhile has still paid).
    const stay = await openOccupancyOf(trx, payment.studentId);
    const command: RechargeCommand = {
      dormitoryId: payment.dormitoryId,
      purse: payment.purse,
      amount: payment.amount,
      method: 'online',
      reference: payment.reference,
      operator: `payment:${provider.name}`,
      studentId: stay?.dormitoryId === payment.dormitoryId ? payment.studentId : undefined,
      provider: provider.name,
    };
    const credited = await creditInTransaction(trx, new Date(now), command, { transactionId: notification.transactionId, notificationId: notification.notificationId });
    await completePayment(trx, payment.id, { state: 'paid', transactionId: notification.transactionId, rechargeId: credited.recharge.id, at: new Date(now) });
    return { outcome: 'credited' as const, command, credited };
  });
  if (result.outcome === 'credited') settleRecharge(result.command, result.credited, listener);
  return { outcome: result.outcome, acknowledgement: provider.acknowledgement };
}
