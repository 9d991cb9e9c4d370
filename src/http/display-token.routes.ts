import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { DisplayToken } from '../db/display-token.repository.ts';
import { displayTokens, mintDisplayToken, revokeDisplayToken } from '../services/display-token.service.ts';
import { ErrorResponses } from './error-schemas.ts';
import { RowId } from './schema-bounds.ts';

const MintBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100, description: 'which screen, e.g. "Lobby, building A"' }) }, { additionalProperties: false });
const IdParams = Type.Object({ id: RowId() });
const DisplayTokenSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  issuedBy: Type.String(),
  issuedAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedBy: Type.Union([Type.String(), Type.Null()]),
});
const Minted = Type.Intersect([
  DisplayTokenSchema,
  Type.Object({
    token: Type.String({ description: 'shown this once (only its hash is stored): open /wall#token=<token> on the screen' }),
    wallPath: Type.String({ description: 'the page to open on the screen, with the token in the fragment (never sent to the server)' }),
  }),
]);

const view = (token: DisplayToken) => ({ ...token, issuedAt: token.issuedAt.toISOString(), revokedAt: token.revokedAt?.toISOString() ?? null });

/**
 * Wall display tokens (docs/websocket.md, "Wall displays"): the admin mints one per screen, lists
 * them and revokes them. A token opens `/ws/live` (read-only, no expiry) and no other route.
 */
async function displayTokenRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db } = options.context;
  const admin = app.requireRole('admin');
  // Issue and revocation times are wall-clock, like sessions: they are about people, not the campus.
  const now = () => new Date();

  app.post(
    '/api/display-tokens',
    { preHandler: admin, schema: { tags: ['wall'], summary: 'Mint a read-only wall display token; the token is shown once', body: MintBody, response: { 201: Minted, ...ErrorResponses } } },
    async (request, reply) => {
      const { name } = request.body as Static<typeof MintBody>;
      const minted = await mintDisplayToken(db, name, request.operator!.username, now());
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...view(minted), token: minted.token, wallPath: `/wall#token=${minted.token}` });
    },
  );

  app.get('/api/display-tokens', { preHandler: admin, schema: { tags: ['wall'], summary: 'Every wall display token (never the token itself)', response: { 200: Type.Object({ items: Type.Array(DisplayTokenSchema) }), ...ErrorResponses } } }, async () => ({
    items: (await displayTokens(db)).map(view),
  }));

  app.delete(
    '/api/display-tokens/:id',
    { preHandler: admin, schema: { tags: ['wall'], summary: 'Revoke a wall display token; its open live feed is closed at once', params: IdParams, response: { 200: DisplayTokenSchema, ...ErrorResponses } } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const revoked = await revokeDisplayToken(db, id, request.operator!.username, now());
      // The live feed re-checks its sockets: the screen is closed with 4401 now, not at the next tick.
      app.sessionEndings.notify();
      return view(revoked);
    },
  );
}

export default fp(displayTokenRoutes, { name: 'display-token-routes', dependencies: ['auth'] });
