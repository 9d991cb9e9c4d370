import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type * as Nact from 'nact';

/**
 * A nact actor that handles its mailbox in slices of time instead of one message per
 * event-loop turn.
 *
 * Why: nact 7.6.2 (lib/actor.js) schedules every message on its own `setImmediate`, so an actor
 * handles ONE message per turn of the event loop. Behind a burst (the ledger actor was seen
 * ~9,800 messages deep while a test campus polled 200 rooms) an ask waits for thousands of turns,
 * each of which also runs every other actor's message, the HTTP server and the database
 * driver: seconds, and nact's ask timeout answers "Query Timeout".
 *
 * What changes (1): once an actor's turn comes, it keeps handling queued messages (in order, one at
 * a time, each awaited as nact does) until the mailbox is empty or `sliceMs` of wall time has
 * passed; then it yields with nact's own `processNext` (one `setImmediate`), so a busy actor
 * never holds the loop for longer than a slice. Everything else is nact's Actor unchanged:
 * dispatch, query, supervision (a crash ends the slice and hands the message to `handleFault`
 * exactly as nact does), stop, shutdownAfter, the context given to the behaviour.
 *
 * What changes (2): the context given to the behaviour builds its `children` map only when a
 * behaviour reads it. nact builds it for every message (`new Map(this.childReferences)`), so a
 * message to the campus actor, the parent of every dormitory and gateway, cost a copy of a map of
 * 20,000 entries, and a boot that adds the dormitories one message each was quadratic (issue 13:
 * 43.6 s to listening at 20,000 meters against 10.8 s at 10,000). Same fields, same values.
 *
 * How: a subclass of nact's internal `Actor` (lib/actor.js) overriding `handleMessage` and `createContext` only,
 * created the way nact's own `spawn` creates an Actor (lib/system-map.js
 * `applyOrThrowIfStopped`). Both are internal files of nact 7.6.2 (the package has no
 * `exports` map, so they load); test/actors/draining-actor.test.ts fails if their shape
 * changes. Subclassing keeps one code path per message (no patching of live instances).
 */

interface NactActorInternals {
  busy: boolean;
  stopped: boolean;
  state: unknown;
  immediate: NodeJS.Immediate | undefined;
  mailbox: { shift(): { message: unknown; sender: unknown } | undefined; length: number };
  f: (this: unknown, state: unknown, message: unknown, ctx: unknown) => unknown;
  reference: Nact.Ref<unknown>;
  parent: { reference: Nact.Ref<unknown> } | undefined;
  path: unknown;
  name: string;
  log: unknown;
  childReferences: Map<string, Nact.Ref<unknown>>;
  createContext(sender: unknown): unknown;
  afterMessage(): void;
  processNext(): void;
  handleFault(message: unknown, sender: unknown, error: unknown): void;
  assertNotStopped(): boolean;
}

type NactActorClass = new (parent: unknown, name: string, system: unknown, f: unknown, properties: unknown) => NactActorInternals;

const load = createRequire(import.meta.url);
const { Actor } = load('nact/lib/actor.js') as { Actor: NactActorClass };
const systemMap = load('nact/lib/system-map.js') as {
  applyOrThrowIfStopped<R>(reference: unknown, f: (concrete: NactActorInternals & { system: unknown }) => R): R;
};

/** Wall time an actor may spend on its mailbox before it yields the event loop. */
export const DEFAULT_SLICE_MS = 4;

class DrainingActor extends Actor {
  sliceMs = DEFAULT_SLICE_MS;

  /** nact's context (lib/actor.js `createContext`), with `children` copied from the live map when read. */
  override createContext(sender: unknown): unknown {
    const childReferences = this.childReferences;
    return {
      parent: this.parent ? this.parent.reference : undefined,
      path: this.path,
      self: this.reference,
      name: this.name,
      get children(): Map<string, Nact.Ref<unknown>> {
        return new Map(childReferences);
      },
      sender,
      log: this.log,
    };
  }

  /** nact calls this for a message that arrives while idle, and from processNext for the next queued one. */
  handleMessage(message: unknown, sender: unknown): void {
    this.busy = true;
    this.immediate = setImmediate(() => void this.drain(message, sender));
  }

  private async drain(message: unknown, sender: unknown): Promise<void> {
    const sliceEnds = performance.now() + this.sliceMs;
    let next: { message: unknown; sender: unknown } | undefined = { message, sender };
    while (next) {
      const current = next;
      try {
        const ctx = this.createContext(current.sender);
        this.state = await Promise.resolve(this.f.call(ctx, this.state, current.message, ctx));
        this.afterMessage();
      } catch (error) {
        this.handleFault(current.message, current.sender, error);
        return;
      }
      // Stopped by its own message, or the slice is spent: nact's processNext takes over.
      if (this.stopped || this.mailbox.length === 0 || performance.now() >= sliceEnds) break;
      next = this.mailbox.shift();
    }
    this.processNext();
  }
}

/** nact's spawn, creating a DrainingActor. Same arguments and result as `nact.spawn`. */
export function spawnDraining<M>(parent: Nact.Ref<unknown>, behaviour: unknown, name: string, properties: unknown, sliceMs = DEFAULT_SLICE_MS): Nact.Ref<M> {
  return systemMap.applyOrThrowIfStopped(parent, (p) => {
    p.assertNotStopped();
    const actor = new DrainingActor(p, name, p.system, behaviour, properties);
    actor.sliceMs = sliceMs;
    return actor.reference as Nact.Ref<M>;
  });
}
