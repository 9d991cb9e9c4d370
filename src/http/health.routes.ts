import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import type { LedgerWriterStatus } from '../actors/ledger-writer.ts';
import type { AppContext } from '../app-context.ts';

export interface HealthOptions {
  readonly context: AppContext;
  /** The ledger's group committer: pending items, waiting for the database, dead letters. */
  readonly ledger: () => LedgerWriterStatus;
  /** Whether this server holds the runtime lock (src/db/runtime-lock.ts); undefined before it starts or where none is taken. */
  readonly runtimeLockHeld?: () => boolean | undefined;
}

/**
 * `ok` when the database answers and the ledger commits; `degraded` (503) while the database
 * is away or the ledger holds a batch it could not commit. Meanwhile the actors keep
 * controlling from live state and the ledger commits its queue, in order, once it returns.
 * Also `degraded` while this server has lost its runtime lock (`runtimeLock: "lost"`): it writes
 * no charge and credits no money until it holds it again or stops.
 */
async function healthRoutes(app: FastifyInstance, options: HealthOptions): Promise<void> {
  app.get('/health', { schema: { tags: ['system'], summary: 'Liveness, database reachability and ledger backlog' } }, async (_request, reply) => {
    const started = performance.now();
    const status = options.ledger();
    const ledger = { pending: status.pending, waitingForDatabase: status.waitingForDatabase, deadLetters: status.deadLetters, ...(status.lastError ? { lastError: status.lastError } : {}) };
    let database: Record<string, unknown>;
    try {
      await sql`select 1`.execute(options.context.db);
      database = { reachable: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      database = { reachable: false, error: error instanceof Error ? error.message : String(error) };
    }
    const held = options.runtimeLockHeld?.();
    const lock = held === undefined ? {} : { runtimeLock: held ? 'held' : 'lost' };
    if (database.reachable && !status.waitingForDatabase && held !== false) return { status: 'ok', database, ledger, ...lock };
    return reply.status(503).send({ status: 'degraded', database, ledger, ...lock });
  });
}

export default fp(healthRoutes, { name: 'health-routes' });
