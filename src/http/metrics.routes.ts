import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Metrics } from '../metrics/metrics.ts';

/** Prometheus text exposition. Read-only and unauthenticated, like any scrape target; bind it privately. */
async function metricsRoutes(app: FastifyInstance, options: { metrics: Metrics }): Promise<void> {
  app.get('/api/metrics', { schema: { tags: ['system'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    return reply.type(options.metrics.registry.contentType).send(await options.metrics.render());
  });
}

export default fp(metricsRoutes, { name: 'metrics-routes' });
