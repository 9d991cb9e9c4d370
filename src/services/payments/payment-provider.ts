import type { Purse } from '../../db/database.ts';

/** What a payment is for, as the provider is told when it is created. */
export interface PaymentOrder {
  /** Our reference: the provider's out-trade-no, and the recharge's reference once paid. */
  readonly reference: string;
  readonly amountFen: number;
  readonly studentId: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
}

/** A provider's notification whose signature and timestamp were checked. */
export interface VerifiedNotification {
  /** The provider's id of this notification: seen twice, it credits once. */
  readonly notificationId: string;
  /** The out-trade-no: our payment's reference. */
  readonly reference: string;
  readonly amountFen: number;
  readonly paid: boolean;
  readonly transactionId: string;
  /** When the provider signed it (epoch ms). */
  readonly signedAtMs: number;
}

/**
 * What the provider answers when asked about a payment (docs/payments.md, "Querying a payment"):
 * `paid` (the money arrived), `pending` (not paid yet, or the provider does not know the order
 * yet) or `closed` (closed, failed or revoked at the provider: it will never be paid).
 */
export interface QueriedPayment {
  readonly reference: string;
  readonly state: 'paid' | 'pending' | 'closed';
  /** The amount the provider holds for the order, fen; null when it does not know the order. */
  readonly amountFen: number | null;
  /** The provider's transaction id (set when paid). */
  readonly transactionId: string | null;
  /** When the provider signed its answer (epoch ms); absent for the sandbox, which runs inside this server. */
  readonly signedAtMs?: number;
}

/** The request as the webhook received it: the raw body the signature covers, and the headers. */
export interface SignedRequest {
  readonly rawBody: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * A payment provider (docs/payments.md): creates a payment for a student's dormitory (the URL
 * where the student pays), verifies its signed notifications, and answers them in its own shape.
 * `verify` is pure: the signature over the raw body (constant-time compare) and the body's
 * shape; the time window and replay checks are the webhook service's, the same for every provider.
 */
export interface PaymentProvider {
  readonly name: string;
  createPayment(order: PaymentOrder): { readonly payUrl: string };
  /** Throws `SignatureError` when the request is unsigned, tampered or malformed. */
  verify(request: SignedRequest): VerifiedNotification;
  /** The body the provider expects when a notification was accepted (or was a harmless repeat). */
  readonly acknowledgement: unknown;
  /**
   * Asks the provider for the payment's state (a notification that never came). Throws
   * `SignatureError` when the answer is unsigned, tampered or not the provider's shape, and
   * `ProviderUnavailableError` when the provider cannot be reached or answers an error.
   */
  queryPayment(reference: string): Promise<QueriedPayment>;
  /** How long after it was created the provider takes payment for an order; then it is closed. */
  readonly paymentExpiryMs: number;
}

/** The provider could not be asked (network, timeout) or answered an error status. */
export class ProviderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderUnavailableError';
  }
}

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

export function header(request: SignedRequest, name: string): string {
  const value = request.headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === '') throw new SignatureError(`missing ${name} header`);
  return first;
}

/** Parses the signed body as a JSON object (only after its signature was verified). */
export function jsonObject(raw: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SignatureError('the notification body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SignatureError('the notification body is not a JSON object');
  return parsed as Record<string, unknown>;
}

export function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw new SignatureError(`${name} is missing or not a short string`);
  return value;
}

export function fen(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new SignatureError(`${name} is not a positive integer amount in fen`);
  return value as number;
}
