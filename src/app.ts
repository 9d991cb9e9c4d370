import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AppContext } from './app-context.ts';
import { SystemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { openDatabase, type DatabaseHandle } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import authPlugin from './http/auth.plugin.ts';
import dormitoryRoutes from './http/dormitory.routes.ts';
import errorHandler from './http/error-handler.plugin.ts';
import healthRoutes from './http/health.routes.ts';
import openApiPlugin from './http/openapi.plugin.ts';
import rechargeRoutes from './http/recharge.routes.ts';
import validationPlugin from './http/validation.plugin.ts';
import { createLogger } from './logger.ts';
import { ensureAdmin, type AdminCredentials } from './services/bootstrap-admin.ts';
import { isDatabaseEmpty, seedDemoCampus } from './services/demo-campus.seed.ts';

export interface AppOptions {
  /** Injected clock; the system clock by default. */
  readonly clock?: Clock;
  /** An already-open database (tests); otherwise opened from the config. */
  readonly database?: DatabaseHandle;
  /** Seed the demo campus when the database is empty. */
  readonly seedDemo?: boolean;
  readonly logger?: Logger;
}

export interface App {
  readonly http: FastifyInstance;
  readonly context: AppContext;
  readonly admin: AdminCredentials;
  /** Listens on the configured port; resolves with the URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Builds the whole system from a config object: database (migrated), HTTP, and later the
 * actor tree and drivers. Touches no process state: src/server.ts and the CLI do that.
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.logger ?? createLogger(config);
  const clock = options.clock ?? new SystemClock();
  const database = options.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const ownsDatabase = options.database === undefined;
  try {
    if (ownsDatabase) await migrateToLatest(database.db);
    const admin = await ensureAdmin(database.db, config.adminPassword);
    if (options.seedDemo && (await isDatabaseEmpty(database.db))) {
      const seeded = await seedDemoCampus(database.db, new Date(clock.now()));
      log.info({ dormitories: seeded.dormitories }, 'seeded the demo campus');
    }
    const context: AppContext = { config, db: database.db, clock, log };

    // Request lines are debug-level noise for a control room; the http child logs warnings up.
    const httpLog = log.child({ component: 'http' }, { level: config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'warn' });
    const http: FastifyInstance = Fastify({ loggerInstance: httpLog as FastifyBaseLogger, bodyLimit: 1_048_576 });
    await http.register(errorHandler);
    await http.register(validationPlugin);
    await http.register(openApiPlugin);
    await http.register(authPlugin, { context });
    await http.register(healthRoutes, { context });
    await http.register(dormitoryRoutes, { context });
    await http.register(rechargeRoutes, { context });
    await http.ready();

    return {
      http,
      context,
      admin,
      async start() {
        const address = await http.listen({ port: config.port, host: config.host });
        return address;
      },
      async stop() {
        await http.close();
        if (ownsDatabase) await database.close();
      },
    };
  } catch (error) {
    if (ownsDatabase) await database.close().catch(() => undefined);
    throw error;
  }
}
