import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { findSandboxSettlement, recordSandboxSettlement, type SandboxSettlement } from '../../db/sandbox-settlement.repository.ts';
import { DomainError } from '../../errors.ts';
import { hmacSha256, signatureMatches } from './hmac.ts';
import { fen, header, jsonObject, SignatureError, text, type PaymentOrder, type PaymentProvider, type QueriedPayment, type SignedRequest, type VerifiedNotification } from './payment-provider.ts';

export const SANDBOX_SIGNATURE_HEADER = 'x-sandbox-signature';

/**
 * The built-in provider so the demo works end to end: its "pay page" is served by this server
 * (GET /api/payments/sandbox/pay/:reference) and its confirm button makes the sandbox send a
 * signed notification to the webhook, as a real provider would. Signature (Stripe-like):
 * `X-Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Body: `{"id","reference","amount","status":"paid"|"failed","transactionId"}`.
 * Like a real provider it keeps its own record of what it settled (`sandbox_settlements`, not
 * the server's payment row), which its query answers from, across restarts; it takes payment
 * for an order for `paymentExpiryMs` after the order was created, then no more.
 */
export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';
  readonly acknowledgement = { received: true };

  constructor(
    private readonly secret: string,
    private readonly db: Kysely<Database>,
    readonly paymentExpiryMs = 30 * 60_000,
  ) {}

  createPayment(order: PaymentOrder): { payUrl: string } {
    return { payUrl: `/api/payments/sandbox/pay/${encodeURIComponent(order.reference)}` };
  }

  /**
   * The pay page's confirm: the sandbox settles the order (once: a second confirm sends the
   * first settlement again) and returns the signed notification it sends to the webhook. An order
   * past its expiry is refused, as a real provider refuses to take payment for a closed order.
   */
  async confirm(order: { reference: string; amountFen: number; createdAtMs: number }, nowMs: number): Promise<{ settlement: SandboxSettlement; body: string; headers: Record<string, string> }> {
    const settled = await findSandboxSettlement(this.db, order.reference);
    if (!settled && nowMs > order.createdAtMs + this.paymentExpiryMs) throw new DomainError('PAYMENT_EXPIRED', `sandbox order ${order.reference} expired unpaid`, 'reference');
    const settlement = settled ?? await recordSandboxSettlement(this.db, { reference: order.reference, status: 'paid', amount: order.amountFen, transactionId: `sandbox-${randomUUID()}`, settledAt: new Date(nowMs) });
    const body = JSON.stringify({ id: randomUUID(), reference: settlement.reference, amount: settlement.amount, status: settlement.status, transactionId: settlement.transactionId });
    return { settlement, body, headers: this.sign(body, nowMs) };
  }

  /** Answers from the sandbox's own settlements: confirmed is paid, failed is closed, nothing yet is pending. */
  async queryPayment(reference: string): Promise<QueriedPayment> {
    const settlement = await findSandboxSettlement(this.db, reference);
    if (!settlement) return { reference, state: 'pending', amountFen: null, transactionId: null };
    return { reference, state: settlement.status === 'paid' ? 'paid' : 'closed', amountFen: settlement.amount, transactionId: settlement.transactionId };
  }

  /** What the sandbox sends to the webhook: the body and its signature header. */
  sign(body: string, atMs: number): Record<string, string> {
    const t = Math.floor(atMs / 1000);
    return { [SANDBOX_SIGNATURE_HEADER]: `t=${t},v1=${hmacSha256(this.secret, `${t}.${body}`).toString('hex')}` };
  }

  verify(request: SignedRequest): VerifiedNotification {
    const parts = new Map(
      header(request, SANDBOX_SIGNATURE_HEADER)
        .split(',')
        .map((p) => p.trim().split('=', 2) as [string, string | undefined]),
    );
    const t = parts.get('t');
    const v1 = parts.get('v1');
    if (!t || !/^\d{1,12}$/.test(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) throw new SignatureError('malformed signature header');
    if (!signatureMatches(hmacSha256(this.secret, `${t}.${request.rawBody}`), Buffer.from(v1, 'hex'))) throw new SignatureError('signature does not match');
    const body = jsonObject(request.rawBody);
    return {
      notificationId: text(body.id, 'id'),
      reference: text(body.reference, 'reference'),
      amountFen: fen(body.amount, 'amount'),
      paid: body.status === 'paid',
      transactionId: text(body.transactionId, 'transactionId'),
      signedAtMs: Number(t) * 1000,
    };
  }
}
