import { parseArgs } from 'node:util';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openDatabase } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import { reconcile } from './services/reconcile.service.ts';

/**
 * The command line: serve, simulate, migrate, reconcile. With `serve` and `simulate`, this
 * module (and src/server.ts) is the only place that touches the process: signals, exit codes.
 */
const USAGE = `usage: campus-prepaid <command> [options]

commands:
  serve [--simulate]   run the server (with --simulate: the in-process demo campus simulator)
  simulate             same as serve --simulate
  migrate              apply pending database migrations
  reconcile            check every cached balance against its ledger; exits 1 on any mismatch
  bench                run the benchmarks (writes bench-results/latest.json)
`;

async function runMigrate(config: Config): Promise<number> {
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const result = await migrateToLatest(handle.db);
    const applied = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  } finally {
    await handle.close();
  }
}

async function runReconcile(config: Config): Promise<number> {
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(handle.db);
    const report = await reconcile(handle.db);
    for (const line of report.lines) console.log(line);
    return report.ok ? 0 : 1;
  } finally {
    await handle.close();
  }
}

async function runServe(config: Config): Promise<number> {
  const { runServer } = await import('./server.ts');
  return runServer(config);
}

async function main(argv: readonly string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { simulate: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig(process.env, command === 'simulate' || values.simulate ? { simulate: true } : {});
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  switch (command) {
    case 'serve':
    case 'simulate':
      return runServe(config);
    case 'migrate':
      return runMigrate(config);
    case 'reconcile':
      return runReconcile(config);
    case 'bench': {
      const { runBench } = await import('../bench/run-bench.ts');
      return runBench(config);
    }
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A failed start (DATA_DIR in use, a gateway that cannot be built, a database that refuses)
    // says why on the first line and exits non-zero; whatever is still open gets 3 s to close.
    console.error(`campus-prepaid: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 3_000).unref();
  },
);

export { buildApp };
