import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { issueGatewayCredential, revokeGatewayCredential } from '../services/gateway-credential.service.ts';
import { ErrorResponses } from './error-schemas.ts';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Issued = Type.Object({
  gatewayId: Type.String(),
  username: Type.String({ description: 'the MQTT username: the gateway id' }),
  secret: Type.String({ description: 'the MQTT password; shown this once, only its hash is stored' }),
  issuedAt: Type.String({ format: 'date-time' }),
});
const Revoked = Type.Object({
  gatewayId: Type.String(),
  connectionsDropped: Type.Union([Type.Integer(), Type.Null()], { description: 'live connections of the gateway dropped; null on an external broker (remove the user there)' }),
});

/** What revoking needs of the broker: drop the gateway's live connection. */
export interface GatewayBrokerControl {
  disconnectGateway(gatewayId: string): number | undefined;
}

/**
 * MQTT gateway credentials (docs/mqtt.md): issuing returns a secret once (re-issuing replaces
 * it); revoking deletes it and drops the gateway's live connection on the embedded broker.
 * Admin only: a credential is the right to move money and switch power.
 */
async function gatewayCredentialRoutes(app: FastifyInstance, options: { context: AppContext; broker: GatewayBrokerControl }): Promise<void> {
  const { db, clock } = options.context;
  const admin = app.requireRole('admin');

  app.post(
    '/api/gateways/:id/credentials',
    { preHandler: admin, schema: { tags: ['topology'], summary: 'Issue (or replace) an MQTT gateway credential; the secret is shown once', params: IdParams, response: { 201: Issued, ...ErrorResponses } } },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const issued = await issueGatewayCredential(db, id, request.operator!.username, new Date(clock.now()));
      // A replaced secret must stop working now, not at the gateway's next reconnect.
      options.broker.disconnectGateway(id);
      return reply.status(201).header('cache-control', 'no-store').send({ ...issued, issuedAt: issued.issuedAt.toISOString() });
    },
  );

  app.delete(
    '/api/gateways/:id/credentials',
    { preHandler: admin, schema: { tags: ['topology'], summary: 'Revoke an MQTT gateway credential and drop its live connection', params: IdParams, response: { 200: Revoked, ...ErrorResponses } } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      await revokeGatewayCredential(db, id, request.operator!.username);
      const dropped = options.broker.disconnectGateway(id);
      request.log.info({ gatewayId: id, connectionsDropped: dropped }, 'gateway credential revoked');
      return { gatewayId: id, connectionsDropped: dropped ?? null };
    },
  );
}

export default fp(gatewayCredentialRoutes, { name: 'gateway-credential-routes', dependencies: ['auth'] });
