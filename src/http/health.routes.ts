import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import type { AppContext } from '../app-context.ts';

async function healthRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  app.get('/health', { schema: { tags: ['system'], summary: 'Liveness and database reachability' } }, async (_request, reply) => {
    const started = performance.now();
    try {
      await sql`select 1`.execute(options.context.db);
      return { status: 'ok', database: { reachable: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 } };
    } catch (error) {
      return reply.status(503).send({ status: 'degraded', database: { reachable: false, error: error instanceof Error ? error.message : String(error) } });
    }
  });
}

export default fp(healthRoutes, { name: 'health-routes' });
