import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { WriteAhead } from './ledger-writer.ts';
import type { SupervisionContext } from './nact.ts';

/** What every actor is given at spawn: effects only through these. */
export interface ActorDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Clock time between ledger postings of one meter's consumption (default 60 s). */
  readonly postingIntervalMs: number;
  /** Clock time after a failed command before the circuit tries again. */
  readonly commandRetryMs: number;
  /** Identifies this node in command ids. */
  readonly nodeId: string;
  /** The ledger's backpressure (set by CampusRuntime): while engaged, periodic charge postings wait. */
  readonly ledgerPressure?: { readonly backpressure: boolean };
  /**
   * Persists a circuit's control state and command record before its cut goes to the driver
   * (set by CampusRuntime: the ledger writer). Absent: the cut goes at once and both follow the
   * group commit.
   */
  readonly writeAhead?: WriteAhead;
  /**
   * Whether this server holds the runtime lock now (src/db/runtime-lock.ts; set by the app on
   * PostgreSQL): while it does not, a gateway sends no restore (cuts still go). Absent: always sends.
   */
  readonly runtimeLockHeld?: () => boolean;
}

/**
 * The crash policy of every long-lived actor here: log, count, and resume with the last good
 * state (the message that crashed it is dropped). nact's `reset` would re-run the initial
 * state function and stop the children; `stop` would lose the actor. A crashing meter or
 * circuit therefore never takes its dormitory or gateway down.
 */
export function resumeOnCrash(deps: Pick<ActorDeps, 'log' | 'metrics'>, actorKind: string): CrashPolicy {
  // One policy per kind of actor, not per actor (five actors a room each held their own).
  let byKind = crashPolicies.get(deps);
  if (!byKind) crashPolicies.set(deps, (byKind = new Map()));
  let policy = byKind.get(actorKind);
  if (!policy) {
    policy = (msg, error, ctx) => {
      deps.metrics.actorRestarts.inc({ actor: actorKind });
      deps.log.error({ err: error, actor: ctx.path.toString(), msgType: (msg as { type?: string } | undefined)?.type }, 'actor crashed; resumed with its last state');
      return ctx.resume as symbol;
    };
    byKind.set(actorKind, policy);
  }
  return policy;
}

type CrashPolicy = (msg: unknown, error: Error | undefined, ctx: SupervisionContext<unknown, never>) => symbol;
const crashPolicies = new WeakMap<object, Map<string, CrashPolicy>>();
