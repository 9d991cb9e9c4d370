import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import type { RuntimeFence } from './db/runtime-lock.ts';

/** What the HTTP plugins and services are given: no globals, everything injected. */
export interface AppContext {
  readonly config: Config;
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Run first in a transaction that moves money (a recharge, a refund, a settled payment): throws
   * RuntimeFenceError unless this server holds the runtime lock (src/db/runtime-lock.ts), so a
   * server that lost the campus to another cannot credit a purse the running one does not see.
   * Unset (PGlite, tests): no check.
   */
  readonly fence?: RuntimeFence | undefined;
}
