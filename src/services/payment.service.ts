import { randomBytes } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import type { Purse } from '../db/database.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { openOccupancyOf } from '../db/occupancy.repository.ts';
import type { Executor } from '../db/executor.ts';
import { completePayment, findPayment, insertPayment, lockPayment, recordNotification, type PaymentRecord } from '../db/payment.repository.ts';
import { DomainError } from '../errors.ts';
import { ProviderUnavailableError, SignatureError, type PaymentProvider, type QueriedPayment, type SignedRequest } from './payments/payment-provider.ts';
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

/**
 * What a provider reported about a payment, by its notification or in answer to a query: the
 * input of `settlePayment`. `failed` (a notification said so) and `closed` (the provider closed
 * it, or it expired unpaid) credit nothing and end the payment.
 */
export interface ProviderReport {
  readonly reference: string;
  readonly outcome: 'paid' | 'failed' | 'closed';
  /** The amount the provider holds, fen; null when it holds none (an order it never saw). */
  readonly amountFen: number | null;
  readonly transactionId: string | null;
  /** How the report came: the audit record of the credit names it. */
  readonly via: { readonly notificationId: string } | { readonly query: 'manual' | 'job' | 'expiry' };
}

export type SettleOutcome = 'credited' | 'failed' | 'closed' | 'duplicate';

/**
 * The one settlement of a payment, whichever report arrives first (the webhook, the finance
 * query, the pending-payment job), concurrently, twice, or across a restart: in one
 * transaction the payment row is locked, its amount must be the provider's (else nothing is
 * written: 409 PAYMENT_AMOUNT_MISMATCH, audited and logged as an error), a payment no longer
 * pending settles nothing (except a paid report for one we closed or saw fail: the money was
 * paid, so it is credited as below and audited `payment.paid_after_close`), and a paid one becomes a recharge under the payment's reference
 * (idempotent like every recharge) in the same transaction as the row's change to `paid`.
 * `first` runs first in that transaction (the webhook records its notification id there):
 * false means "seen before", and nothing more happens.
 */
export async function settlePayment(
  context: AppContext,
  providerName: string,
  report: ProviderReport,
  options: { first?: (trx: Executor) => Promise<boolean>; listener?: CreditListener | undefined } = {},
): Promise<{ outcome: SettleOutcome }> {
  const at = new Date(context.clock.now());
  let result;
  try {
    result = await context.db.transaction().execute(async (trx) => {
      await context.fence?.(trx);
      if (options.first && !(await options.first(trx))) return { outcome: 'duplicate' as const };
      const payment = await lockPayment(trx, providerName, report.reference);
      if (!payment) throw new DomainError('PAYMENT_NOT_FOUND', `no ${providerName} payment has reference ${report.reference}`, 'reference');
      if (report.amountFen !== null && payment.amount !== report.amountFen) {
        throw new DomainError('PAYMENT_AMOUNT_MISMATCH', `payment ${payment.reference} is for ${payment.amount} fen, the provider says ${report.amountFen}`);
      }
      // Paid after we closed it (our expiry ran on our clock, the provider's differs) or after a failure: the money was
      // paid, so it is credited like a pending one, and audited for finance. Anything else about a settled payment is a duplicate.
      const paidAfterClose = report.outcome === 'paid' && (payment.state === 'closed' || payment.state === 'failed') ? payment.state : null;
      if (payment.state !== 'pending' && !paidAfterClose) return { outcome: 'duplicate' as const };
      if (report.outcome !== 'paid') {
        await completePayment(trx, payment.id, { state: report.outcome, transactionId: report.transactionId, rechargeId: null, at });
        await appendAudit(trx, { operator: `payment:${providerName}`, action: `payment.${report.outcome}`, targetType: 'dormitory', targetId: payment.dormitoryId, details: { reference: payment.reference, ...report.via } });
        return { outcome: report.outcome };
      }
      if (report.amountFen === null || report.transactionId === null) throw new DomainError('PROVIDER_ANSWER_INVALID', `the ${providerName} report of ${payment.reference} says paid without an amount and a transaction id`);
      // The payer is linked to the credit while they still live there (a student who checked out meanwhile has still paid).
      const stay = await openOccupancyOf(trx, payment.studentId);
      const command: RechargeCommand = {
        dormitoryId: payment.dormitoryId,
        purse: payment.purse,
        amount: payment.amount,
        method: 'online',
        reference: payment.reference,
        operator: `payment:${providerName}`,
        studentId: stay?.dormitoryId === payment.dormitoryId ? payment.studentId : undefined,
        provider: providerName,
      };
      const credited = await creditInTransaction(trx, at, command, { transactionId: report.transactionId, ...report.via });
      await completePayment(trx, payment.id, { state: 'paid', transactionId: report.transactionId, rechargeId: credited.recharge.id, at }, paidAfterClose ?? 'pending');
      if (paidAfterClose) {
        const details = { reference: payment.reference, previousState: paidAfterClose, amount: payment.amount, transactionId: report.transactionId, rechargeId: credited.recharge.id, ...report.via };
        await appendAudit(trx, { operator: `payment:${providerName}`, action: 'payment.paid_after_close', targetType: 'dormitory', targetId: payment.dormitoryId, details });
        context.log.warn({ provider: providerName, ...details }, 'a payment closed here was paid at the provider: credited');
      }
      return { outcome: 'credited' as const, command, credited };
    });
  } catch (error) {
    if (error instanceof DomainError && error.code === 'PAYMENT_AMOUNT_MISMATCH') await alertAmountMismatch(context, providerName, report, error);
    throw error;
  }
  if (result.outcome === 'credited') settleRecharge(result.command, result.credited, options.listener);
  return { outcome: result.outcome };
}

/** Nothing was credited; finance must look: an audit record (outside the rolled-back transaction) and an error in the log. */
async function alertAmountMismatch(context: AppContext, providerName: string, report: ProviderReport, error: DomainError): Promise<void> {
  context.log.error({ provider: providerName, reference: report.reference, providerAmount: report.amountFen, via: report.via }, error.message);
  const payment = await findPayment(context.db, report.reference);
  await appendAudit(context.db, {
    operator: `payment:${providerName}`,
    action: 'payment.amount_mismatch',
    targetType: 'dormitory',
    targetId: payment?.dormitoryId ?? report.reference,
    details: { reference: report.reference, amount: payment?.amount ?? null, providerAmount: report.amountFen, transactionId: report.transactionId, ...report.via },
  }).catch((auditError: unknown) => context.log.error({ err: auditError }, 'the amount mismatch could not be audited'));
}

export type NotificationOutcome = SettleOutcome;

/**
 * A provider's notification. Checked before anything is written: the signature over the raw
 * body (the provider's, constant-time), then the signing time within the tolerance of the
 * server's clock; anything else is a 401 and credits nothing. Then `settlePayment`, which
 * first records the notification id in its transaction (a replay, even after a restart, finds
 * it and credits nothing).
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
  const { outcome } = await settlePayment(
    context,
    provider.name,
    { reference: notification.reference, outcome: notification.paid ? 'paid' : 'failed', amountFen: notification.amountFen, transactionId: notification.transactionId, via: { notificationId: notification.notificationId } },
    {
      first: (trx) => recordNotification(trx, { provider: provider.name, notificationId: notification.notificationId, reference: notification.reference, receivedAt: new Date(now) }),
      listener,
    },
  );
  return { outcome, acknowledgement: provider.acknowledgement };
}

/** Asks the payment's provider; its answer checked (signature, time window, the order asked about). */
async function askProvider(context: AppContext, provider: PaymentProvider, reference: string): Promise<QueriedPayment> {
  let answer: QueriedPayment;
  try {
    answer = await provider.queryPayment(reference);
  } catch (error) {
    if (error instanceof SignatureError) throw new DomainError('PROVIDER_ANSWER_INVALID', `the ${provider.name} answer about ${reference} was refused: ${error.message}`);
    if (error instanceof ProviderUnavailableError) throw new DomainError('PROVIDER_UNAVAILABLE', error.message);
    throw error;
  }
  if (answer.reference !== reference) throw new DomainError('PROVIDER_ANSWER_INVALID', `the ${provider.name} answer is about ${answer.reference}, not ${reference}`);
  if (answer.signedAtMs !== undefined && Math.abs(context.clock.now() - answer.signedAtMs) > context.config.webhookToleranceSeconds * 1000) {
    throw new DomainError('PROVIDER_ANSWER_INVALID', `the ${provider.name} answer about ${reference} was signed outside the accepted time window`);
  }
  return answer;
}

/**
 * Queries a payment at its provider (a notification that never came) and settles what the
 * provider says through `settlePayment`: paid credits (once, whatever the webhook does), closed
 * closes; still pending past the provider's expiry, it is closed as expired (the provider
 * takes no payment for it any more). Answers the payment row afterwards; a manual query is
 * audited with its operator.
 */
export async function queryPayment(
  context: AppContext,
  providers: PaymentProviders,
  reference: string,
  options: { listener?: CreditListener | undefined; by: { readonly operator: string } | 'job' },
): Promise<{ payment: PaymentRecord; answer: QueriedPayment['state']; outcome: SettleOutcome | 'pending' }> {
  const by = options.by === 'job' ? 'job' : 'manual';
  const payment = await findPayment(context.db, reference);
  if (!payment) throw new DomainError('PAYMENT_NOT_FOUND', `no payment has reference ${reference}`, 'reference');
  const provider = providerOrThrow(providers, payment.provider);
  const answer = await askProvider(context, provider, reference);
  let outcome: SettleOutcome | 'pending' = 'pending';
  if (answer.state !== 'pending') {
    outcome = (await settlePayment(context, provider.name, { reference, outcome: answer.state, amountFen: answer.amountFen, transactionId: answer.transactionId, via: { query: by } }, { listener: options.listener })).outcome;
  } else if (payment.state === 'pending' && context.clock.now() > Date.parse(payment.createdAt) + provider.paymentExpiryMs) {
    outcome = (await settlePayment(context, provider.name, { reference, outcome: 'closed', amountFen: null, transactionId: null, via: { query: 'expiry' } })).outcome;
  }
  const settled = (await findPayment(context.db, reference))!;
  if (options.by !== 'job') {
    await appendAudit(context.db, { operator: options.by.operator, action: 'payment.query', targetType: 'dormitory', targetId: settled.dormitoryId, details: { reference, providerState: answer.state, outcome } });
  }
  return { payment: settled, answer: answer.state, outcome };
}
