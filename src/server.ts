import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import type { AdminCredentials } from './services/bootstrap-admin.ts';

/**
 * What `serve` prints at start-up. The admin password appears only when this start generated
 * it; a password the operator supplied in ADMIN_PASSWORD is never echoed.
 */
export function startupLines(url: string, admin: AdminCredentials, config: Pick<Config, 'databaseUrl' | 'dataDir'>): string[] {
  const lines = [`campus-prepaid listening on ${url} (dashboard ${url}/, API docs ${url}/docs)`];
  if (admin.password && admin.generated) {
    lines.push(`admin login: username "${admin.username}", password "${admin.password}" (generated; shown only now; set ADMIN_PASSWORD to choose it)`);
  }
  if (!config.databaseUrl) lines.push(`database: embedded PGlite in ${config.dataDir} (development only: production money belongs on PostgreSQL)`);
  return lines;
}

/** Runs the server until SIGINT/SIGTERM; prints the URL and, once, a generated admin password. */
export async function runServer(config: Config): Promise<number> {
  let fatal: (error: Error) => void = () => undefined;
  const stoppedItself = new Promise<number>((resolve) => {
    fatal = (error) => {
      console.error(`campus-prepaid: ${error.message}`);
      resolve(1);
    };
  });
  const app = await buildApp(config, { seedDemo: config.simulate, onFatal: (error) => fatal(error) });
  const address = await app.start();
  const url = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');
  for (const line of startupLines(url, app.admin, config)) console.log(line);
  const signalled = new Promise<number>((resolve) => {
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
  return Promise.race([signalled, stoppedItself]);
}
