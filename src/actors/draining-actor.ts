import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type * as Nact from 'nact';
import { RingQueue } from '../ring-queue.ts';

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
 * a time, a promise returned by the behaviour awaited as nact does) until the mailbox is empty or
 * `sliceMs` of wall time has passed; then it goes back on the run queue. Every actor shares ONE
 * run queue, run from one `setImmediate` per event-loop turn for at most `TURN_BUDGET_MS` (see
 * `RunQueue`), instead of nact's `setImmediate` + async function per message: a busy actor never
 * holds the loop for longer than a slice, a message between actors is a push onto an array, and
 * many ready actors no longer make one long turn. Everything else is nact's Actor unchanged:
 * dispatch, query, supervision (a crash ends the slice and hands the message to `handleFault`
 * exactly as nact does), stop, shutdownAfter, the context given to the behaviour.
 *
 * What changes (2): the context given to the behaviour builds its `children` map only when a
 * behaviour reads it. nact builds it for every message (`new Map(this.childReferences)`), so a
 * message to the campus actor, the parent of every dormitory and gateway, cost a copy of a map of
 * 20,000 entries, and a boot that adds the dormitories one message each was quadratic (issue 13:
 * 43.6 s to listening at 20,000 meters against 10.8 s at 10,000). Same fields, same values.
 *
 * How: a subclass of nact's internal `Actor` (lib/actor.js) overriding `handleMessage` and `createContext` only (plus its own `runSlice`),
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
  mailbox: { push(value: unknown): void; shift(): unknown; toArray(): unknown[]; length: number };
  f: (this: unknown, state: unknown, message: unknown, ctx: unknown) => unknown;
  reference: Nact.Ref<unknown>;
  parent: { reference: Nact.Ref<unknown> } | undefined;
  path: unknown;
  name: string;
  log: unknown;
  childReferences: Map<string, Nact.Ref<unknown>>;
  children: Map<string, unknown>;
  childSpawned(child: { name: string; reference: Nact.Ref<unknown> }): void;
  createContext(sender: unknown): unknown;
  createContextWithMailbox(sender: unknown): unknown;
  dispatch(message: unknown, sender?: unknown): void;
  clearTimeout(): void;
  setTimeout(): void;
  afterMessage(): void;
  processNext(): void;
  handleFault(message: unknown, sender: unknown, error: unknown): void;
  assertNotStopped(): boolean;
}

type NactActorClass = new (parent: unknown, name: string, system: unknown, f: unknown, properties: unknown) => NactActorInternals;

const load = createRequire(import.meta.url);
const { Actor } = load('nact/lib/actor.js') as { Actor: NactActorClass };
/** nact's sender of a message sent with `dispatch` (it makes a new one per message; they carry nothing). */
const { Nobody } = load('nact/lib/references.js') as { Nobody: new () => object };
const NOBODY = new Nobody();
const Denque = load('denque') as new () => NactActorInternals['mailbox'];

/**
 * What an actor without children, or with nothing queued, holds instead of a Map or a queue of
 * its own (nact gives every actor two Maps and a queue: at five actors a room, mostly empty,
 * about 3 KB a room). Never written: `childSpawned` and `dispatch` give the actor its own first.
 */
const NO_CHILDREN = new Map<string, never>();
const NO_MAIL = new Denque();
/** nact's `afterStop` when none is given (nact makes a new no-op per actor). */
const NOTHING_AFTER_STOP = (): void => {};

/**
 * The context a message is handled with (nact's fields), one per actor with its `sender` set for
 * each message. A class: nact's object literal with a `children` getter was an object in
 * dictionary mode plus a closure and a getter pair per actor (about 3 KB a room); here the
 * fields are read through the actor when a behaviour reads them.
 */
class MessageContext {
  sender: unknown = undefined;
  constructor(private readonly actor: NactActorInternals) {}
  get parent(): Nact.Ref<unknown> | undefined {
    return this.actor.parent ? this.actor.parent.reference : undefined;
  }
  get path(): unknown {
    return this.actor.path;
  }
  get self(): Nact.Ref<unknown> {
    return this.actor.reference;
  }
  get name(): string {
    return this.actor.name;
  }
  /** A copy, as nact gives it (nact copies it for every message; here only when read). */
  get children(): Map<string, Nact.Ref<unknown>> {
    return new Map(this.actor.childReferences);
  }
  get log(): unknown {
    return this.actor.log;
  }
}
const systemMap = load('nact/lib/system-map.js') as {
  applyOrThrowIfStopped<R>(reference: unknown, f: (concrete: NactActorInternals & { system: unknown }) => R): R;
  find(systemName: string, reference: unknown): unknown;
};

/** nact's own lookup of the live actor (or system) behind a reference (lib/system-map.js `find`). */
export function findActor(systemName: string, reference: unknown): unknown {
  return systemMap.find(systemName, reference);
}

/** Wall time an actor may spend on its mailbox before it yields the event loop. */
export const DEFAULT_SLICE_MS = 4;

/** Wall time one event-loop turn may spend on the run queue before it yields to I/O and timers. */
export const TURN_BUDGET_MS = 4;

interface Slice {
  runSlice(): void;
}

/**
 * One queue of actors with messages to handle, shared by every DrainingActor, run from ONE
 * `setImmediate` per event-loop turn. nact schedules a `setImmediate` (and an async function and
 * its promise) for every message that reaches an idle actor; a reading passes four or five actors
 * (meter, circuits, dormitory, live feed), so the hot path paid that per hop. Here a hop is a
 * push onto this array. Actors take turns in the order they became ready, each for at most its
 * slice; an actor made ready while the queue runs (a message one actor sends another) runs in
 * the same turn while the turn's budget lasts, so a reading reaches its circuit's command without
 * waiting for further turns of the event loop.
 */
class RunQueue {
  /** The ready actors, in the order they became ready (a ring: an array dropped each turn was garbage). */
  private readonly ready = new RingQueue<Slice>(1024);
  private scheduled = false;

  add(actor: Slice): void {
    this.ready.push(actor);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const turnEnds = performance.now() + TURN_BUDGET_MS;
    try {
      for (let actor = this.ready.shift(); actor !== undefined; actor = this.ready.shift()) {
        actor.runSlice();
        if (performance.now() >= turnEnds) break;
      }
    } finally {
      if (this.ready.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.run);
      }
    }
  };
}

const runQueue = new RunQueue();

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';

class DrainingActor extends Actor implements Slice {
  constructor(parent: unknown, name: string, system: unknown, f: unknown, properties: { afterStop?: unknown } | undefined) {
    super(parent, name, system, f, { ...properties, afterStop: properties?.afterStop ?? NOTHING_AFTER_STOP });
    // nact's constructor made two Maps and a queue; an actor that spawned no children while it
    // started (its initial state can spawn them) and has no mail yet shares empty ones.
    if (this.children.size === 0) {
      this.children = NO_CHILDREN;
      this.childReferences = NO_CHILDREN;
    }
    if (this.mailbox.length === 0) this.mailbox = NO_MAIL;
  }

  sliceMs = DEFAULT_SLICE_MS;
  /** The message handed over when the actor became busy (the rest wait in its mailbox). */
  private hasFirst = false;
  private firstMessage: unknown = undefined;
  private firstSender: unknown = undefined;

  /**
   * nact's `dispatch` (lib/actor.js), without an object per message: nact makes a new `Nobody`
   * sender for each, and a `{ message, sender }` entry for each one queued while the actor is
   * busy. Here the default sender is one shared `Nobody`, and the mailbox holds each queued
   * message and its sender as two consecutive items (only `processNext` and `runSlice` read it).
   * At 20,000 readings a second those objects were 14 % of everything the server allocated.
   */
  override dispatch(message: unknown, sender: unknown = NOBODY): void {
    this.assertNotStopped();
    this.clearTimeout();
    if (!this.busy) this.handleMessage(message, sender);
    else {
      if (this.mailbox === NO_MAIL) this.mailbox = new Denque();
      this.mailbox.push(message);
      this.mailbox.push(sender);
    }
  }

  /** nact's context with the mailbox (for supervision and `afterStop`), as nact's `{ message, sender }` entries. */
  override createContextWithMailbox(sender: unknown): unknown {
    const items = this.mailbox.toArray();
    const mailbox: { message: unknown; sender: unknown }[] = [];
    for (let i = 0; i + 1 < items.length; i += 2) mailbox.push({ message: items[i], sender: items[i + 1] });
    return { ...(this.createContext(sender) as object), mailbox };
  }

  /** nact's `processNext`, reading the mailbox's message-and-sender pairs. */
  override processNext(): void {
    if (this.stopped) return;
    if (this.mailbox.length > 0) {
      const message = this.mailbox.shift();
      this.handleMessage(message, this.mailbox.shift());
    } else {
      this.busy = false;
      this.setTimeout(); // nact's idle shutdown (`shutdownAfter`), ticking again
    }
  }

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

  private reusedContext: MessageContext | undefined;

  /**
   * The context a message is handled with: one per actor, its `sender` set for each message (nact
   * builds a new one per message). No behaviour here keeps its context past the message; the
   * sender is dropped after it. Supervision and the initial state get nact's own (`createContext`).
   */
  private messageContext(sender: unknown): MessageContext {
    const ctx = (this.reusedContext ??= new MessageContext(this));
    ctx.sender = sender;
    return ctx;
  }

  /** nact's `childSpawned`, giving the actor its own maps at its first child. */
  override childSpawned(child: { name: string; reference: Nact.Ref<unknown> }): void {
    if (this.children === NO_CHILDREN) {
      this.children = new Map();
      this.childReferences = new Map();
    }
    super.childSpawned(child);
  }

  /** nact calls this for a message that arrives while idle, and from processNext for the next queued one. */
  handleMessage(message: unknown, sender: unknown): void {
    this.busy = true;
    this.hasFirst = true;
    this.firstMessage = message;
    this.firstSender = sender;
    runQueue.add(this);
  }

  /**
   * Handles queued messages in order until the mailbox is empty or the slice is spent. A
   * behaviour that returns a promise is awaited before the next message (the actor stays busy
   * meanwhile and goes back on the run queue after); one that returns its state is not, so a
   * synchronous behaviour costs no promise. A crash ends the slice and goes to nact's
   * supervision (`handleFault`), as in nact.
   */
  runSlice(): void {
    if (!this.hasFirst) return;
    let message = this.firstMessage;
    let sender = this.firstSender;
    this.hasFirst = false;
    this.firstMessage = undefined;
    this.firstSender = undefined;
    // Stopped while it waited (nact's stop clears the pending message the same way).
    if (this.stopped) return;
    const sliceEnds = performance.now() + this.sliceMs;
    for (;;) {
      let next: unknown;
      try {
        const ctx = this.messageContext(sender);
        next = this.f.call(ctx, this.state, message, ctx);
      } catch (error) {
        this.handleFault(message, sender, error);
        return;
      }
      if (isThenable(next)) {
        const handledMessage = message;
        const handledSender = sender;
        next.then(
          (state) => {
            this.state = state;
            this.afterMessage();
            this.processNext();
          },
          (error: unknown) => this.handleFault(handledMessage, handledSender, error),
        );
        return;
      }
      this.state = next;
      this.afterMessage();
      // Stopped by its own message, or the slice is spent: back on the run queue via processNext.
      if (this.stopped || this.mailbox.length === 0 || performance.now() >= sliceEnds) break;
      message = this.mailbox.shift();
      sender = this.mailbox.shift();
    }
    this.processNext();
  }
}

/** nact's spawn, creating a DrainingActor. Same arguments and result as `nact.spawn`. */
export function spawnDraining<M>(parent: Nact.Ref<unknown>, behaviour: unknown, name: string, properties: unknown, sliceMs = DEFAULT_SLICE_MS): Nact.Ref<M> {
  return systemMap.applyOrThrowIfStopped(parent, (p) => {
    p.assertNotStopped();
    const actor = new DrainingActor(p, name, p.system, behaviour, properties as { afterStop?: unknown } | undefined);
    actor.sliceMs = sliceMs;
    return actor.reference as Nact.Ref<M>;
  });
}
