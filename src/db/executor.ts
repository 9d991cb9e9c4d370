import type { Kysely, Transaction } from 'kysely';
import type { Database } from './database.ts';

/** Repository functions take this first: the caller decides whether it is `db` or a `trx`. */
export type Executor = Kysely<Database> | Transaction<Database>;
