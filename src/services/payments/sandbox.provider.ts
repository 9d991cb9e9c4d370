import { hmacSha256, signatureMatches } from './hmac.ts';
import { fen, header, jsonObject, SignatureError, text, type PaymentOrder, type PaymentProvider, type SignedRequest, type VerifiedNotification } from './payment-provider.ts';

export const SANDBOX_SIGNATURE_HEADER = 'x-sandbox-signature';

/**
 * The built-in provider so the demo works end to end: its "pay page" is served by this server
 * (GET /api/payments/sandbox/pay/:reference) and its confirm button makes the sandbox send a
 * signed notification to the webhook, as a real provider would. Signature (Stripe-like):
 * `X-Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Body: `{"id","reference","amount","status":"paid"|"failed","transactionId"}`.
 */
export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';
  readonly acknowledgement = { received: true };

  constructor(private readonly secret: string) {}

  createPayment(order: PaymentOrder): { payUrl: string } {
    return { payUrl: `/api/payments/sandbox/pay/${encodeURIComponent(order.reference)}` };
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
