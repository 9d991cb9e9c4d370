import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { PaymentState } from '../db/database.ts';
import { findPayment } from '../db/payment.repository.ts';
import { DomainError } from '../errors.ts';
import { queryPayment, receiveNotification, startPayment } from '../services/payment.service.ts';
import type { PaymentProviders } from '../services/payments/payment-providers.ts';
import type { CreditListener } from '../services/recharge.service.ts';
import { ErrorResponses, ErrorSchema } from './error-schemas.ts';

const StartBody = Type.Object(
  {
    purse: Type.Optional(Type.Union([Type.Literal('electricity'), Type.Literal('water')], { default: 'electricity' })),
    amount: Type.Integer({ minimum: 1, maximum: 500_000, description: 'fen (at most 5,000 yuan a payment)' }),
    provider: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'an enabled provider; the first enabled one by default' })),
  },
  { additionalProperties: false },
);
const Payment = Type.Object({
  reference: Type.String({ description: "the provider's out-trade-no and, once paid, the recharge's reference" }),
  provider: Type.String(),
  dormitoryId: Type.String(),
  purse: Type.String(),
  amount: Type.Integer(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('paid'), Type.Literal('failed'), Type.Literal('closed')], { description: 'closed: closed at the provider, or expired unpaid' }),
  rechargeId: Type.Union([Type.Integer(), Type.Null()]),
});
const Started = Type.Object({ ...Payment.properties, payUrl: Type.String({ description: "where the student pays (sandbox: this server's confirm page)" }) });
const ProviderParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 32 }) });
const ReferenceParams = Type.Object({ reference: Type.String({ minLength: 1, maxLength: 128 }) });
const Queried = Type.Object({
  ...Payment.properties,
  providerState: Type.Union([Type.Literal('paid'), Type.Literal('pending'), Type.Literal('closed')], { description: 'what the provider answered' }),
});
const ConfirmQuery = Type.Object(
  { notify: Type.Optional(Type.Boolean({ default: true, description: 'demo: false plays a notification lost on its way (the sandbox settles, the webhook is never called)' })) },
  { additionalProperties: false },
);
const WebhookBody = Type.String({ maxLength: 65_536, description: "the provider's notification exactly as sent: its signature covers these bytes" });

const view = (p: { reference: string; provider: string; dormitoryId: string; purse: string; amount: number; state: PaymentState; rechargeId: number | null }) => ({
  reference: p.reference,
  provider: p.provider,
  dormitoryId: p.dormitoryId,
  purse: p.purse,
  amount: p.amount,
  state: p.state,
  rechargeId: p.rechargeId,
});

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Online recharge (docs/payments.md): a student starts a payment of their own dormitory; the
 * provider's signed notification credits it. The webhook is anonymous but signed: it reads the
 * raw body (its own content-type parser, in its own encapsulated scope) so the signature is
 * checked over the exact bytes sent.
 */
async function paymentRoutes(app: FastifyInstance, options: { context: AppContext; providers: PaymentProviders; credits?: CreditListener }): Promise<void> {
  const { context, providers } = options;

  app.post(
    '/api/me/payments',
    {
      preHandler: app.requireRole('student'),
      schema: { tags: ['payments'], summary: 'Start an online recharge of my current dormitory: answers the pay URL', body: StartBody, response: { 201: Started, ...ErrorResponses } },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof StartBody>;
      const providerName = body.provider ?? providers.names[0];
      if (providerName === undefined) throw new DomainError('PROVIDER_NOT_ENABLED', 'no payment provider is enabled on this server', 'provider');
      const started = await startPayment(context, providers, { providerName, studentId: request.operator!.username, purse: body.purse ?? 'electricity', amount: body.amount });
      return reply.status(201).send({ ...view(started.payment), payUrl: started.payUrl });
    },
  );

  app.get(
    '/api/me/payments/:reference',
    { preHandler: app.requireRole('student'), schema: { tags: ['payments'], summary: 'One of my payments and its state', params: ReferenceParams, response: { 200: Payment, ...ErrorResponses } } },
    async (request) => {
      const { reference } = request.params as Static<typeof ReferenceParams>;
      const payment = await findPayment(context.db, reference);
      if (!payment || payment.studentId !== request.operator!.username) throw new DomainError('PAYMENT_NOT_FOUND', `you have no payment ${reference}`);
      return view(payment);
    },
  );

  app.post(
    '/api/payments/:reference/query',
    {
      preHandler: app.requireRole('finance', 'admin'),
      schema: {
        tags: ['payments'],
        summary: "Ask the payment's provider for its state (a notification that never came); a paid payment is credited once, whatever the webhook does",
        params: ReferenceParams,
        response: { 200: Queried, ...ErrorResponses, '5xx': ErrorSchema },
      },
    },
    async (request) => {
      const { reference } = request.params as Static<typeof ReferenceParams>;
      const queried = await queryPayment(context, providers, reference, { listener: options.credits, by: { operator: request.operator!.username } });
      return { ...view(queried.payment), providerState: queried.answer };
    },
  );

  await app.register(async (signed) => {
    // The signature covers the raw bytes: keep them, whatever the content type.
    signed.removeAllContentTypeParsers();
    signed.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 65_536 }, (_request, body, done) => done(null, body));
    signed.post(
      '/api/payments/:provider/webhook',
      {
        schema: {
          tags: ['payments'],
          summary: "A provider's payment notification: anonymous, but signed (HMAC over the raw body, time window, replay protection); unsigned or tampered is a 401 and credits nothing",
          params: ProviderParams,
          body: WebhookBody,
          response: { 200: Type.Unknown({ description: "the provider's acknowledgement" }), ...ErrorResponses },
        },
      },
      async (request) => {
        const { provider } = request.params as Static<typeof ProviderParams>;
        const rawBody = typeof request.body === 'string' ? request.body : '';
        const result = await receiveNotification(context, providers, provider, { rawBody, headers: request.headers }, options.credits);
        request.log.info({ provider, outcome: result.outcome }, 'payment notification');
        return result.acknowledgement;
      },
    );

    // The sandbox's own "provider side": a pay page and its confirm button, which sends a signed notification to the webhook.
    const sandboxPayment = async (reference: string) => {
      const sandbox = providers.sandbox;
      if (!sandbox) throw new DomainError('PROVIDER_NOT_ENABLED', 'the sandbox payment provider is not enabled on this server', 'provider');
      const payment = await findPayment(context.db, reference);
      if (!payment || payment.provider !== 'sandbox') throw new DomainError('PAYMENT_NOT_FOUND', `no sandbox payment has reference ${reference}`);
      return { sandbox, payment };
    };
    signed.get(
      '/api/payments/sandbox/pay/:reference',
      { schema: { tags: ['payments'], summary: "The sandbox provider's pay page (demo only): confirming sends a signed notification", params: ReferenceParams, response: { ...ErrorResponses } } },
      async (request, reply) => {
        const { payment } = await sandboxPayment((request.params as Static<typeof ReferenceParams>).reference);
        const ref = escapeHtml(payment.reference);
        const yuan = (payment.amount / 100).toFixed(2);
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', "default-src 'none'; form-action 'self'")
          .send(
            `<!doctype html><html lang="en"><meta charset="utf-8"><title>Sandbox payment</title><body><h1>Sandbox payment</h1>` +
              `<p>${yuan} yuan to the ${escapeHtml(payment.purse)} purse of dormitory ${escapeHtml(payment.dormitoryId)} (reference ${ref}): <strong>${payment.state}</strong></p>` +
              (payment.state === 'pending' ? `<form method="post" enctype="text/plain" action="/api/payments/sandbox/pay/${encodeURIComponent(payment.reference)}/confirm"><button type="submit">Pay</button></form>` : '') +
              `</body></html>`,
          );
      },
    );
    signed.post(
      '/api/payments/sandbox/pay/:reference/confirm',
      {
        schema: {
          tags: ['payments'],
          summary: 'The sandbox pays (demo only): sends a signed notification to the webhook, as a real provider would',
          params: ReferenceParams,
          querystring: ConfirmQuery,
          response: { 200: Payment, ...ErrorResponses },
        },
      },
      async (request) => {
        const { sandbox, payment } = await sandboxPayment((request.params as Static<typeof ReferenceParams>).reference);
        if (payment.state === 'pending') {
          // The sandbox settles on its side first (its query answers from that), then notifies.
          const notification = await sandbox.confirm({ reference: payment.reference, amountFen: payment.amount, createdAtMs: Date.parse(payment.createdAt) }, context.clock.now());
          if ((request.query as Static<typeof ConfirmQuery>).notify !== false) {
            const delivered = await app.inject({ method: 'POST', url: '/api/payments/sandbox/webhook', headers: { 'content-type': 'application/json', ...notification.headers }, payload: notification.body });
            if (delivered.statusCode !== 200) request.log.warn({ status: delivered.statusCode, body: delivered.body }, 'the sandbox notification was refused');
          }
        }
        return view((await findPayment(context.db, payment.reference))!);
      },
    );
  });
}

export default fp(paymentRoutes, { name: 'payment-routes', dependencies: ['auth'] });
