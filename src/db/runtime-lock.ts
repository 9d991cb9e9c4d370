import { hostname } from 'node:os';
import { sql } from 'kysely';
import pg from 'pg';
import type { Executor } from './executor.ts';

/**
 * One campus runtime per database. Every server runs every gateway (the lease manager of
 * DESIGN.md, "Beyond one machine", is not built), so two servers on one database would each bill
 * every reading and each drive every relay: a second server doubled the ledger's charges and
 * closed the first one's live commands as interrupted. The runtime therefore holds a PostgreSQL
 * session advisory lock, keyed by database and schema, on a connection of its own for as long as
 * it runs; a second server's start is refused before it boots a gateway, naming the holder.
 * PGlite needs none: its DATA_DIR lock (data-dir-lock.ts) already allows one process per cluster.
 */
export class RuntimeLockedError extends Error {
  constructor(
    readonly holder: string,
    options?: ErrorOptions,
  ) {
    super(`another campus-prepaid server is running the campus on this database (${holder}); two would each bill every reading and drive every relay. Stop it, or point this server at another database or schema.`, options);
    this.name = 'RuntimeLockedError';
  }
}

export interface RuntimeLock {
  /** The PostgreSQL backend holding it (what a fence checks); null where no lock is needed (PGlite). */
  readonly backendPid: number | null;
  /** Ends the lock's connection (PostgreSQL then releases the lock). */
  release(): Promise<void>;
}

/** What the lock's holder does when its connection ends without a release (the lock is gone with it). */
export type RuntimeLockLost = (error: Error) => void;

/** The lock's key: per database (advisory locks are) and per schema (tests run one campus per schema). */
export const RUNTIME_LOCK_KEY_SQL = `hashtextextended('campus-prepaid runtime ' || current_schema(), 0)`;

/**
 * The drain's key. Every fenced transaction holds it shared (`pg_advisory_xact_lock_shared`) from
 * before its fence check to its end; a server that takes the runtime lock then takes it exclusive
 * once, which waits for every transaction that passed an earlier owner's check to end. A check
 * and its commit are two moments: an owner frozen between them (an outside attack timed a
 * SIGSTOP into one) would otherwise commit charges after the new owner read the cursors.
 */
export const RUNTIME_DRAIN_KEY_SQL = `hashtextextended('campus-prepaid ledger ' || current_schema(), 0)`;

/** The rows of pg_locks (as `l`) that hold the advisory lock of `keySql` (a bigint key: classid high, objid low) in this database. */
export function heldAdvisoryLockSql(keySql: string): string {
  return `l.locktype = 'advisory' and l.granted and l.objsubid = 1
    and l.database = (select oid from pg_database where datname = current_database())
    and ((l.classid::bigint << 32) | l.objid::bigint) = ${keySql}`;
}

/** What every transaction that writes what the runtime decided runs first (`RuntimeLockKeeper.fence`, `AppContext.fence`). */
export type RuntimeFence = (trx: Executor) => Promise<void>;

/** How long a new owner waits for an earlier owner's fenced transactions before it ends their connections. */
export const DRAIN_WAIT_MS = 3_000;

/** The connection's own name in pg_stat_activity: who holds the lock, for the refusal message. */
function holderName(): string {
  return `campus-prepaid runtime pid ${process.pid} on ${hostname()}`.slice(0, 63);
}

/**
 * Takes the lock on a new connection, or throws (RuntimeLockedError naming the connection that
 * holds it; the connection's own error when the database cannot be reached). `onLost` is called
 * once if the connection ends after the lock was taken and before `release` (PostgreSQL
 * restarted, the backend was terminated, the network dropped): the lock went with it. A failure
 * before the lock was taken is only the rejection, never also `onLost` (an outside attack that
 * killed the connection between connect and lock saw both, two retry loops, and the server
 * refused by its own second loop stopped itself).
 */
export async function acquirePostgresRuntimeLock(config: pg.ClientConfig, onLost: RuntimeLockLost): Promise<RuntimeLock> {
  // Keepalives both ways: a server whose host vanished (no FIN) must not keep the lock for the
  // OS's two hours, and this server must learn that its database went away.
  const client = new pg.Client({ ...config, application_name: holderName(), keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
  let held = false;
  let released = false;
  let lost = false;
  const lose = (error: Error) => {
    if (!held || released || lost) return;
    lost = true;
    onLost(error);
  };
  client.on('error', lose); // also keeps an error before the lock from becoming an unhandled 'error' event
  client.on('end', () => lose(new Error('the runtime lock connection ended')));
  let backendPid: number;
  try {
    await client.connect();
    await client.query('set tcp_keepalives_idle = 30; set tcp_keepalives_interval = 10; set tcp_keepalives_count = 3');
    const taken = await client.query<{ locked: boolean; pid: number }>(`select pg_try_advisory_lock(${RUNTIME_LOCK_KEY_SQL}) as locked, pg_backend_pid() as pid`);
    if (!taken.rows[0]?.locked) throw new RuntimeLockedError(await describeHolder(client));
    backendPid = taken.rows[0].pid;
    await drainEarlierOwner(client);
  } catch (error) {
    released = true;
    await client.end().catch(() => undefined);
    throw error;
  }
  held = true;
  return {
    backendPid,
    async release() {
      if (released) return;
      released = true;
      if (!lost) await client.end().catch(() => undefined);
    },
  };
}

/**
 * Waits for the transactions that passed an earlier owner's fence to end (the drain key,
 * exclusive); those still open after DRAIN_WAIT_MS (their server frozen mid-commit) have their
 * connections ended, which rolls them back: their charges are billed again, once, from the
 * cursors this owner reads.
 */
async function drainEarlierOwner(client: pg.Client): Promise<void> {
  await client.query(`set lock_timeout = ${DRAIN_WAIT_MS}`);
  try {
    await client.query(`select pg_advisory_lock(${RUNTIME_DRAIN_KEY_SQL})`);
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error; // lock_not_available: the wait timed out
    await client.query(
      `select pg_terminate_backend(l.pid) from pg_locks l where l.pid <> pg_backend_pid() and ${heldAdvisoryLockSql(RUNTIME_DRAIN_KEY_SQL)}`,
    );
    await client.query(`set lock_timeout = ${DRAIN_WAIT_MS * 2}`);
    await client.query(`select pg_advisory_lock(${RUNTIME_DRAIN_KEY_SQL})`);
  }
  await client.query(`select pg_advisory_unlock(${RUNTIME_DRAIN_KEY_SQL}); set lock_timeout = 0`);
}

/** The holding connection as pg_stat_activity shows it (its name says which server and host). */
async function describeHolder(client: pg.Client): Promise<string> {
  const holder = await client.query<{ pid: number; application_name: string; client_addr: string | null; backend_start: Date; schema: string }>(
    `select a.pid, a.application_name, host(a.client_addr) as client_addr, a.backend_start, current_schema() as schema
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where ${heldAdvisoryLockSql(RUNTIME_LOCK_KEY_SQL)}`,
  );
  const row = holder.rows[0];
  if (!row) return 'its holder could not be read';
  const from = row.client_addr ? ` from ${row.client_addr}` : '';
  return `schema "${row.schema}", held by "${row.application_name || 'unnamed connection'}"${from} (backend pid ${row.pid}) since ${row.backend_start.toISOString()}`;
}

export interface RuntimeLockEvents {
  /** The lock's connection ended; it is being taken again every `retryMs`. */
  lost(error: Error): void;
  /** Taken again after a loss (PostgreSQL restarted, nobody else took it meanwhile). */
  retaken(): void;
  /** Another server took it while this one was without: this one must stop driving the campus. */
  takenOver(error: RuntimeLockedError): void;
}

/** A write of the runtime's (a ledger commit) refused because this server does not hold the runtime lock now. */
export class RuntimeFenceError extends Error {
  constructor(message: string) {
    super(`not written: ${message}; another server may be running the campus`);
    this.name = 'RuntimeFenceError';
  }
}

export interface RuntimeLockKeeper {
  /** Whether the lock is held as far as this process knows (false from its loss until it is taken again). */
  readonly held: boolean;
  /**
   * Throws RuntimeFenceError unless this server holds the lock, checked by the database inside
   * `trx`: run first in every transaction that writes what the runtime decided (charges, cursors,
   * commands). A server frozen (SIGSTOP, a VM pause) while its lock connection was ended and
   * another server took over would otherwise write on when it woke, from the same billing cursors
   * (an outside attack saw twelve meters charged twice); the check finds its lock's backend gone.
   */
  readonly fence: RuntimeFence;
  /** Stops taking it again and releases it. */
  release(): Promise<void>;
}

/**
 * Holds the runtime lock for a server's life: the first take throws (RuntimeLockedError when
 * another server still holds it after `startGraceMs`); after a loss it is taken again every
 * `retryMs` while the database is unreachable (one retry at a time), and `takenOver` is called
 * once if another server got it first.
 */
export async function holdRuntimeLock(take: (onLost: RuntimeLockLost) => Promise<RuntimeLock>, events: RuntimeLockEvents, retryMs = 1_000, startGraceMs = 5_000): Promise<RuntimeLockKeeper> {
  let current: RuntimeLock | undefined;
  let retrying = false;
  let retry: NodeJS.Timeout | undefined;
  let released = false;
  const onLost = (error: Error) => {
    current = undefined;
    if (released || retrying) return;
    retrying = true;
    events.lost(error);
    schedule();
  };
  const schedule = () => {
    retry = setTimeout(() => {
      retry = undefined;
      take(onLost).then(
        (lock) => {
          retrying = false;
          if (released) return void lock.release();
          current = lock;
          events.retaken();
        },
        (error: unknown) => {
          if (released) return;
          if (error instanceof RuntimeLockedError) events.takenOver(error);
          else schedule(); // the database is still unreachable
        },
      );
    }, retryMs);
  };
  // A server killed a moment ago may still have its backend (PostgreSQL ends it once it sees the
  // socket closed): a refusal is believed after `startGraceMs` of asking again.
  const refuseAfter = Date.now() + startGraceMs;
  for (;;) {
    try {
      current = await take(onLost);
      break;
    } catch (error) {
      if (!(error instanceof RuntimeLockedError) || Date.now() >= refuseAfter) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return {
    get held() {
      return current !== undefined;
    },
    async fence(trx) {
      const lock = current;
      if (!lock) throw new RuntimeFenceError('the runtime lock was lost with its database connection and is not held again yet');
      if (lock.backendPid === null) return;
      // Held to the transaction's end: a later owner's drain waits for it (RUNTIME_DRAIN_KEY_SQL).
      await sql`select pg_advisory_xact_lock_shared(${sql.raw(RUNTIME_DRAIN_KEY_SQL)})`.execute(trx);
      const found = await sql<{ held: boolean }>`
        select exists(select 1 from pg_locks l where l.pid = ${lock.backendPid} and ${sql.raw(heldAdvisoryLockSql(RUNTIME_LOCK_KEY_SQL))}) as held`.execute(trx);
      if (!found.rows[0]?.held) throw new RuntimeFenceError(`the runtime lock's connection (backend ${lock.backendPid}) no longer holds it`);
    },
    async release() {
      released = true;
      clearTimeout(retry);
      await current?.release();
      current = undefined;
    },
  };
}
