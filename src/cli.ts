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
  user add NAME --role ROLE [--display-name TEXT]
                       create a staff user (admin, manager, finance); the password is read
                       from stdin, or generated and printed once when stdin is empty or a TTY
  user reset-password NAME
                       set a user's password (stdin, or generated and printed once); ends
                       every session of that user
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

/** The whole of stdin when it is piped (trailing newline removed); undefined on a TTY or when empty. */
async function readPasswordFromStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  return text.length > 0 ? text : undefined;
}

async function runUser(config: Config, args: readonly string[], role: string | undefined, displayName: string | undefined): Promise<number> {
  const [action, username] = args;
  if ((action !== 'add' && action !== 'reset-password') || !username) {
    console.error(`usage: campus-prepaid user add NAME --role ROLE | user reset-password NAME\n\n${USAGE}`);
    return 2;
  }
  if (action === 'add' && role !== 'admin' && role !== 'manager' && role !== 'finance') {
    console.error('user add needs --role admin, manager or finance (students are opened with their student record)');
    return 2;
  }
  const password = await readPasswordFromStdin();
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(handle.db);
    const { createUser, resetPassword } = await import('./services/user.service.ts');
    const generated =
      action === 'add'
        ? (await handle.db.transaction().execute((trx) => createUser(trx, { username, password, role: role as 'admin', displayName }, 'cli'))).generatedPassword
        : (await handle.db.transaction().execute((trx) => resetPassword(trx, username, password, 'cli'))).generatedPassword;
    console.log(action === 'add' ? `created ${role} ${username}` : `password of ${username} reset; their sessions ended`);
    if (generated) console.log(`password: ${generated}`);
    return 0;
  } catch (error) {
    const { DomainError } = await import('./errors.ts');
    if (error instanceof DomainError) {
      console.error(`${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
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
    options: {
      simulate: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      role: { type: 'string' },
      'display-name': { type: 'string' },
    },
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
    case 'user':
      return runUser(config, positionals.slice(1), values.role, values['display-name']);
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
