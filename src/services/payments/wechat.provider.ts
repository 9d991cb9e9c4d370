import { hmacSha256, signatureMatches } from './hmac.ts';
import { fen, header, jsonObject, SignatureError, text, type PaymentOrder, type PaymentProvider, type SignedRequest, type VerifiedNotification } from './payment-provider.ts';

/**
 * A WeChat Pay (API v3) shaped adapter (docs/payments.md): notifications carry
 * `Wechatpay-Timestamp`, `Wechatpay-Nonce` and `Wechatpay-Signature` headers, the signature
 * covering "<timestamp>\n<nonce>\n<body>\n"; the body is a `TRANSACTION.SUCCESS` event whose
 * resource holds `out_trade_no` (our reference), `transaction_id`, `trade_state` and
 * `amount.total` in fen. Departure from the real API, stated in docs/payments.md: the
 * signature is HMAC-SHA256 with the shared webhook secret (base64), not RSA with the platform
 * certificate, and the resource arrives in clear, not AES-256-GCM encrypted.
 */
export class WechatPayProvider implements PaymentProvider {
  readonly name = 'wechat';
  readonly acknowledgement = { code: 'SUCCESS', message: 'OK' };

  constructor(
    private readonly secret: string,
    private readonly payBaseUrl = 'weixin://wxpay/bizpayurl',
  ) {}

  createPayment(order: PaymentOrder): { payUrl: string } {
    // A Native-pay code URL: the student's phone opens it in WeChat.
    return { payUrl: `${this.payBaseUrl}?out_trade_no=${encodeURIComponent(order.reference)}&total=${order.amountFen}` };
  }

  sign(body: string, atMs: number, nonce: string): Record<string, string> {
    const timestamp = String(Math.floor(atMs / 1000));
    return {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': hmacSha256(this.secret, `${timestamp}\n${nonce}\n${body}\n`).toString('base64'),
      'wechatpay-serial': 'campus-prepaid-hmac',
    };
  }

  verify(request: SignedRequest): VerifiedNotification {
    const timestamp = header(request, 'Wechatpay-Timestamp');
    const nonce = header(request, 'Wechatpay-Nonce');
    const signature = header(request, 'Wechatpay-Signature');
    if (!/^\d{1,12}$/.test(timestamp) || nonce.length > 64 || !/^[A-Za-z0-9+/]{43}=$/.test(signature)) throw new SignatureError('malformed signature headers');
    if (!signatureMatches(hmacSha256(this.secret, `${timestamp}\n${nonce}\n${request.rawBody}\n`), Buffer.from(signature, 'base64'))) throw new SignatureError('signature does not match');
    const body = jsonObject(request.rawBody);
    const resource = body.resource;
    if (resource === null || typeof resource !== 'object') throw new SignatureError('resource is missing');
    const r = resource as Record<string, unknown>;
    const amount = r.amount as Record<string, unknown> | null | undefined;
    if (amount && amount.currency !== undefined && amount.currency !== 'CNY') throw new SignatureError('only CNY is accepted');
    return {
      notificationId: text(body.id, 'id'),
      reference: text(r.out_trade_no, 'resource.out_trade_no'),
      amountFen: fen(amount?.total, 'resource.amount.total'),
      paid: body.event_type === 'TRANSACTION.SUCCESS' && r.trade_state === 'SUCCESS',
      transactionId: text(r.transaction_id, 'resource.transaction_id'),
      signedAtMs: Number(timestamp) * 1000,
    };
  }
}
