import { buildApp } from './app.ts';
import type { Config } from './config.ts';

/** Runs the server until SIGINT/SIGTERM; prints the URL and, once, the admin credentials. */
export async function runServer(config: Config): Promise<number> {
  const app = await buildApp(config, { seedDemo: config.simulate });
  const address = await app.start();
  const url = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');
  console.log(`campus-prepaid listening on ${url} (dashboard ${url}/, API docs ${url}/docs)`);
  if (app.admin.password) {
    console.log(`admin login: username "${app.admin.username}", password "${app.admin.password}"${app.admin.generated ? ' (generated; shown only now; set ADMIN_PASSWORD to choose it)' : ''}`);
  }
  if (!config.databaseUrl) console.log(`database: embedded PGlite in ${config.dataDir} (development only: production money belongs on PostgreSQL)`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.context.log.info({ signal }, 'shutting down');
      app.stop().then(
        () => resolve(0),
        (error: unknown) => {
          app.context.log.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}
