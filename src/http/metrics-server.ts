import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics/metrics.ts';
import errorHandler, { frameworkErrors } from './error-handler.plugin.ts';
import metricsRoutes from './metrics.routes.ts';

/**
 * The metrics endpoint on its own listener (METRICS_PORT, bound to METRICS_HOST, 127.0.0.1 by
 * default): `GET /metrics` and nothing else, so the API port can face users while only the
 * monitoring network reaches the metrics. Listens when the app starts, closes when it stops.
 */
export async function createMetricsServer(config: Pick<Config, 'metricsToken'>, metrics: Metrics, log: Logger): Promise<FastifyInstance> {
  const server = Fastify({ loggerInstance: log.child({ component: 'metrics-http' }) as FastifyBaseLogger, bodyLimit: 1024, frameworkErrors });
  await server.register(errorHandler);
  await server.register(metricsRoutes, { metrics, path: '/metrics', token: config.metricsToken });
  await server.ready();
  return server;
}
