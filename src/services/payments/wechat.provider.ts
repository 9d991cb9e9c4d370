import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import { hmacSha256, signatureMatches } from './hmac.ts';
import type { HttpTransport } from './http-transport.ts';
import { fen, header, jsonObject, ProviderUnavailableError, SignatureError, text, type PaymentOrder, type PaymentProvider, type QueriedPayment, type SignedRequest, type VerifiedNotification } from './payment-provider.ts';

export interface WechatPayOptions {
  /** The merchant id (`mchid`) every API call names. */
  readonly merchantId: string;
  /** The merchant API's base URL (https://api.mch.weixin.qq.com). */
  readonly apiBaseUrl: string;
  readonly transport: HttpTransport;
  readonly clock: Clock;
  /** How long a Native-pay order takes payment (WeChat's default `time_expire`: 2 hours). */
  readonly paymentExpiryMs?: number;
  readonly payBaseUrl?: string;
}

/** WeChat's trade_state -> ours: SUCCESS (and REFUND: it was paid, a refund is a separate matter) is paid; NOTPAY and USERPAYING wait; the rest never will be paid. */
const TRADE_STATES: Readonly<Record<string, QueriedPayment['state']>> = {
  SUCCESS: 'paid',
  REFUND: 'paid',
  NOTPAY: 'pending',
  USERPAYING: 'pending',
  CLOSED: 'closed',
  REVOKED: 'closed',
  PAYERROR: 'closed',
};

/**
 * A WeChat Pay (API v3) shaped adapter (docs/payments.md): notifications carry
 * `Wechatpay-Timestamp`, `Wechatpay-Nonce` and `Wechatpay-Signature` headers, the signature
 * covering "<timestamp>\n<nonce>\n<body>\n"; the body is a `TRANSACTION.SUCCESS` event whose
 * resource holds `out_trade_no` (our reference), `transaction_id`, `trade_state` and
 * `amount.total` in fen. The query is v3 "query by out-trade-no" (`GET
 * /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`), the request signed in the
 * `Authorization: WECHATPAY2-SHA256-RSA2048` header over "GET\n<path?query>\n<ts>\n<nonce>\n\n",
 * the response signed with the same headers as a notification. Departure from the real API,
 * stated in docs/payments.md: every signature is HMAC-SHA256 with the shared secret (base64),
 * not RSA with the merchant key / platform certificate, and the resource arrives in clear.
 */
export class WechatPayProvider implements PaymentProvider {
  readonly name = 'wechat';
  readonly acknowledgement = { code: 'SUCCESS', message: 'OK' };
  readonly paymentExpiryMs: number;
  private readonly payBaseUrl: string;

  constructor(
    private readonly secret: string,
    private readonly options: WechatPayOptions,
  ) {
    this.paymentExpiryMs = options.paymentExpiryMs ?? 2 * 3_600_000;
    this.payBaseUrl = options.payBaseUrl ?? 'weixin://wxpay/bizpayurl';
  }

  createPayment(order: PaymentOrder): { payUrl: string } {
    // A Native-pay code URL: the student's phone opens it in WeChat.
    return { payUrl: `${this.payBaseUrl}?out_trade_no=${encodeURIComponent(order.reference)}&total=${order.amountFen}` };
  }

  /** The signature headers WeChat puts on a notification or an API response. */
  sign(body: string, atMs: number, nonce: string): Record<string, string> {
    const timestamp = String(Math.floor(atMs / 1000));
    return {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': hmacSha256(this.secret, `${timestamp}\n${nonce}\n${body}\n`).toString('base64'),
      'wechatpay-serial': 'campus-prepaid-hmac',
    };
  }

  /** The merchant's `Authorization` header for an API call: signs "<method>\n<path?query>\n<ts>\n<nonce>\n<body>\n". */
  authorization(method: string, pathAndQuery: string, body: string, atMs: number, nonce: string): string {
    const timestamp = String(Math.floor(atMs / 1000));
    const signature = hmacSha256(this.secret, `${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`).toString('base64');
    return `WECHATPAY2-SHA256-RSA2048 mchid="${this.options.merchantId}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="campus-prepaid-hmac"`;
  }

  verify(request: SignedRequest): VerifiedNotification {
    const signedAtMs = this.verifySignature(request);
    const body = jsonObject(request.rawBody);
    const resource = body.resource;
    if (resource === null || typeof resource !== 'object') throw new SignatureError('resource is missing');
    const r = resource as Record<string, unknown>;
    return {
      notificationId: text(body.id, 'id'),
      reference: text(r.out_trade_no, 'resource.out_trade_no'),
      amountFen: cnyFen(r.amount, 'resource.amount'),
      paid: body.event_type === 'TRANSACTION.SUCCESS' && r.trade_state === 'SUCCESS',
      transactionId: text(r.transaction_id, 'resource.transaction_id'),
      signedAtMs,
    };
  }

  async queryPayment(reference: string): Promise<QueriedPayment> {
    const pathAndQuery = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(reference)}?mchid=${encodeURIComponent(this.options.merchantId)}`;
    let response;
    try {
      response = await this.options.transport({
        method: 'GET',
        url: `${this.options.apiBaseUrl.replace(/\/+$/, '')}${pathAndQuery}`,
        headers: { accept: 'application/json', authorization: this.authorization('GET', pathAndQuery, '', this.options.clock.now(), randomBytes(16).toString('hex')) },
      });
    } catch (error) {
      throw new ProviderUnavailableError(`WeChat Pay did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (response.status >= 500) throw new ProviderUnavailableError(`WeChat Pay answered HTTP ${response.status}`);
    // Every answer is signed, errors included: nothing unsigned is believed.
    const signedAtMs = this.verifySignature({ rawBody: response.body, headers: response.headers });
    const body = jsonObject(response.body);
    if (response.status === 404 && body.code === 'ORDER_NOT_EXIST') return { reference, state: 'pending', amountFen: null, transactionId: null, signedAtMs };
    if (response.status !== 200) throw new ProviderUnavailableError(`WeChat Pay answered HTTP ${response.status} ${typeof body.code === 'string' ? body.code : ''}`.trim());
    if (text(body.out_trade_no, 'out_trade_no') !== reference) throw new SignatureError(`the answer is about order ${String(body.out_trade_no)}, not ${reference}`);
    if (body.mchid !== undefined && body.mchid !== this.options.merchantId) throw new SignatureError('the answer is for another merchant');
    const state = TRADE_STATES[text(body.trade_state, 'trade_state')];
    if (state === undefined) throw new SignatureError(`unknown trade_state ${String(body.trade_state)}`);
    return {
      reference,
      state,
      amountFen: cnyFen(body.amount, 'amount'),
      transactionId: state === 'paid' ? text(body.transaction_id, 'transaction_id') : typeof body.transaction_id === 'string' ? body.transaction_id : null,
      signedAtMs,
    };
  }

  /** Checks the Wechatpay-* signature over the raw body (constant-time); answers the signing time (epoch ms). */
  private verifySignature(request: SignedRequest): number {
    const timestamp = header(request, 'Wechatpay-Timestamp');
    const nonce = header(request, 'Wechatpay-Nonce');
    const signature = header(request, 'Wechatpay-Signature');
    if (!/^\d{1,12}$/.test(timestamp) || nonce.length > 64 || !/^[A-Za-z0-9+/]{43}=$/.test(signature)) throw new SignatureError('malformed signature headers');
    if (!signatureMatches(hmacSha256(this.secret, `${timestamp}\n${nonce}\n${request.rawBody}\n`), Buffer.from(signature, 'base64'))) throw new SignatureError('signature does not match');
    return Number(timestamp) * 1000;
  }
}

/** `amount: {total, currency}`: fen in CNY (WeChat's amount object; payer_total is what the payer paid after coupons). */
function cnyFen(value: unknown, name: string): number {
  const amount = value as Record<string, unknown> | null | undefined;
  if (amount && amount.currency !== undefined && amount.currency !== 'CNY') throw new SignatureError('only CNY is accepted');
  return fen(amount?.total, `${name}.total`);
}
