import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.ts';
import type { Database } from './database.ts';
import { acquirePostgresRuntimeLock, type RuntimeLock, type RuntimeLockLost } from './runtime-lock.ts';
import { SerializedPGliteDialect } from './pglite-serialized-dialect.ts';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export interface DatabaseOptions {
  /** PostgreSQL connection string; when absent, embedded PGlite in `dataDir`. */
  readonly databaseUrl?: string | undefined;
  /** PGlite data directory; `memory://` for an in-memory database. */
  readonly dataDir: string;
  /** Schema to use on PostgreSQL (search_path); tests run each on a fresh schema. */
  readonly schema?: string | undefined;
  /** PGlite only: start from this dump (a migrated template) instead of an empty cluster. */
  readonly loadDataDir?: Blob | undefined;
  readonly poolSize?: number | undefined;
  /** PostgreSQL `application_name` of the pool's connections. Default `campus-prepaid`. */
  readonly applicationName?: string | undefined;
  /**
   * Called when a pooled PostgreSQL connection dies outside a query (server restart, failover,
   * pg_terminate_backend). Without a listener pg's 'error' event would end the process.
   */
  readonly onConnectionError?: ((error: Error) => void) | undefined;
}

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** Embedded only: the PGlite instance (for dumps in tests). */
  readonly pglite: PGlite | undefined;
  /**
   * The one-runtime-per-database lock a server holds while its actors run (runtime-lock.ts):
   * refused with RuntimeLockedError while another server holds it. PGlite: nothing to take (its
   * DATA_DIR lock already keeps out a second process).
   */
  lockRuntime(onLost: RuntimeLockLost): Promise<RuntimeLock>;
  close(): Promise<void>;
}

const NO_LOCK_NEEDED: RuntimeLock = { backendPid: null, release: async () => undefined };

/** Opens PostgreSQL when a URL is given, else PGlite. int8 is parsed to number on both. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const connection: pg.ClientConfig = {
      connectionString: options.databaseUrl,
      // A database that does not answer must fail a query, not hang it: the ledger then waits and retries.
      connectionTimeoutMillis: 5_000,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    };
    const pool = new pg.Pool({
      ...connection,
      max: options.poolSize ?? 10,
      application_name: options.applicationName ?? 'campus-prepaid',
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
          if (oid === INT8_OID) return (value: string) => Number(value);
          if (oid === NUMERIC_OID) return (value: string) => Number(value);
          return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
        }) as typeof pg.types.getTypeParser,
      },
    });
    // The pool re-emits an idle client's error; a client checked out between two statements of a
    // transaction emits on itself. Both are survived: the query in flight fails, the pool drops
    // the dead client and opens a new one for the next caller.
    const onError = (error: Error) => (options.onConnectionError ?? (() => undefined))(error);
    pool.on('error', onError);
    pool.on('connect', (client) => client.on('error', onError));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', pglite: undefined, lockRuntime: (onLost) => acquirePostgresRuntimeLock(connection, onLost), close: () => db.destroy() };
  }
  let lock: DataDirLock | undefined;
  if (!options.dataDir.startsWith('memory://')) {
    mkdirSync(options.dataDir, { recursive: true });
    lock = acquireDataDirLock(options.dataDir); // throws DataDirLockedError when another process holds it
  }
  try {
    return await openPGlite(options, lock);
  } catch (error) {
    lock?.release();
    throw error;
  }
}

async function openPGlite(options: DatabaseOptions, lock: DataDirLock | undefined): Promise<DatabaseHandle> {
  const pglite = new PGlite({
    dataDir: options.dataDir,
    parsers: { [INT8_OID]: (value: string) => Number(value), [NUMERIC_OID]: (value: string) => Number(value) },
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new SerializedPGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    pglite,
    lockRuntime: async () => NO_LOCK_NEEDED,
    close: async () => {
      await db.destroy();
      lock?.release();
    },
  };
}
