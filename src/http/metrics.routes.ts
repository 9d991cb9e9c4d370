import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError } from '../errors.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface MetricsRoutesOptions {
  readonly metrics: Metrics;
  /** `/api/metrics` on the API port; `/metrics` on a separate metrics port. */
  readonly path: string;
  /** When set, a scrape must send `Authorization: Bearer <token>` (METRICS_TOKEN). */
  readonly token: string | undefined;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Constant-time comparison of the bearer token with METRICS_TOKEN. */
function hasToken(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const offered = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  return timingSafeEqual(digest(offered), digest(token));
}

/**
 * Prometheus text exposition. Protect it with METRICS_TOKEN (a bearer token Prometheus sends:
 * `authorization: { credentials: ... }` in its scrape config) and/or serve it on a separate
 * bind address (METRICS_HOST/METRICS_PORT, src/http/metrics-server.ts) that only the
 * Prometheus network reaches.
 */
async function metricsRoutes(app: FastifyInstance, options: MetricsRoutesOptions): Promise<void> {
  const { token } = options;
  app.get(
    options.path,
    {
      onRequest: async (request) => {
        if (token !== undefined && !hasToken(request, token)) throw new DomainError('UNAUTHENTICATED', 'metrics need the METRICS_TOKEN bearer token');
      },
      schema: { tags: ['system'], summary: token ? 'Prometheus metrics (bearer METRICS_TOKEN)' : 'Prometheus metrics' },
    },
    async (_request, reply) => reply.type(options.metrics.registry.contentType).send(await options.metrics.render()),
  );
}

export default fp(metricsRoutes, { name: 'metrics-routes' });
