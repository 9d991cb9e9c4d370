import { createRequire } from 'node:module';
import type * as Nact from 'nact';
import { findActor, spawnDraining } from './draining-actor.ts';

/**
 * nact 7.6.2 is CommonJS whose exports ESM cannot name statically; load it once, typed.
 * Facts designed around (lib/actor.js): every handled message copies the actor's child map (not in
 * a DrainingActor, which copies it only when read),
 * mailboxes are unbounded, messages to a stopped actor vanish, generated names collide at
 * scale (every actor here is named), and a `reset` stops the children and re-runs the
 * initial state function (so crash policies here `resume`, keeping the last good state).
 */
const nact = createRequire(import.meta.url)('nact') as typeof Nact;

export const { start, spawn, query, stop } = nact;


interface ConcreteActor {
  readonly stopped: boolean;
  dispatch(message: unknown): void;
}

/** The live actor behind each actor reference dispatched to (a reference is one actor's for life). */
const concreteOf = new WeakMap<object, ConcreteActor>();

/**
 * nact's `dispatch`, without its lookup per message: nact finds the actor by walking its path
 * from the system (a Map lookup per level, through a `reduce` closure) on every dispatch, about
 * 3 % of the server's CPU on the reading path. The actor found is remembered for its reference;
 * once it has stopped, nact's lookup runs again (a message to a stopped actor vanishes, as in
 * nact; a new actor of the same path gets it, as in nact).
 */
export function dispatch<T>(actor: Nact.Ref<T>, msg: T): void {
  const cached = concreteOf.get(actor);
  if (cached !== undefined && !cached.stopped) {
    cached.dispatch(msg);
    return;
  }
  const ref = actor as unknown as { type?: string; system: { name: string } };
  if (ref.type !== 'actor') {
    nact.dispatch(actor, msg);
    return;
  }
  const concrete = findActor(ref.system.name, actor) as Partial<ConcreteActor> | undefined;
  if (!concrete || typeof concrete.dispatch !== 'function') return;
  if (concrete.stopped === false) concreteOf.set(actor, concrete as ConcreteActor);
  concrete.dispatch(msg);
}
export type { Ref, ActorContext, SupervisionContext, ActorSystemRef } from 'nact';

/** Behaviour of an actor: `(state, msg, ctx) => state`. */
export type Behaviour<S, M> = (state: S, msg: M, ctx: Nact.ActorContext<M, Nact.Ref<unknown>>) => S;

export interface SpawnOptions<S> {
  readonly initialState?: S;
  readonly initialStateFunc?: (ctx: Nact.ActorContext<unknown, Nact.Ref<unknown>>) => S;
  readonly onCrash: (msg: unknown, error: Error | undefined, ctx: Nact.SupervisionContext<unknown, never>) => symbol;
  readonly afterStop?: (state: S) => void;
}

/**
 * nact's spawn with the types this project uses (nact's own generic inference fails on named
 * refs). Every actor here is a DrainingActor: it handles its mailbox in slices of a few
 * milliseconds instead of one message per event-loop turn (src/actors/draining-actor.ts).
 */
export function spawnActor<S, M>(parent: Nact.Ref<unknown>, behaviour: Behaviour<S, M>, name: string, options: SpawnOptions<S>): Nact.Ref<M> {
  return spawnDraining<M>(parent, behaviour, name, options);
}

/**
 * An actor name `<kind>.<id>`. nact allows only [a-z0-9-$_.+!*'(),] in names, so every other
 * character of the id (and `$` itself) is written `$hh`: distinct ids give distinct names.
 */
export function actorName(kind: string, id: string): string {
  return `${kind}.${id.replace(/[^a-z0-9\-_.+!*'(),]/gi, (c) => `$${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;
}
