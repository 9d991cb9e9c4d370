import t from 'tap';
import { spawnDraining } from '../../src/actors/draining-actor.ts';
import { dispatch, query, spawn, start, stop, type Ref } from '../../src/actors/nact.ts';

/**
 * The DrainingActor (src/actors/draining-actor.ts) against nact's own actor: an ask behind a
 * burst is answered within a few event-loop turns instead of one turn per queued message, in
 * order, with nact's supervision and stop unchanged. Time is counted in event-loop turns (a
 * setImmediate ticker), which a busy CPU does not change.
 */
type Msg = { type: 'Add'; n: number } | { type: 'Boom' } | { type: 'Get'; replyTo: Ref<number[]> } | { type: 'Slow'; spinMs: number; turn: () => number };

function behaviour(state: number[], msg: Msg): number[] {
  switch (msg.type) {
    case 'Add':
      state.push(msg.n);
      return state;
    case 'Boom':
      throw new Error('boom');
    case 'Get':
      dispatch(msg.replyTo, [...state]);
      return state;
    case 'Slow': {
      const until = performance.now() + msg.spinMs;
      while (performance.now() < until);
      state.push(msg.turn());
      return state;
    }
  }
}

/** Counts event-loop turns until stopped. */
function turnCounter(): { now: () => number; stop: () => void } {
  let turns = 0;
  let running = true;
  const tick = () => {
    turns++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return { now: () => turns, stop: () => (running = false) };
}

const BURST = 20_000;
const props = () => ({ initialState: [] as number[], onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume });

async function turnsToAnswerBehindBurst(make: (system: Ref<unknown>) => Ref<Msg>): Promise<{ turns: number; state: number[] }> {
  const system = start();
  try {
    const actor = make(system);
    for (let n = 0; n < BURST; n++) dispatch(actor, { type: 'Add', n });
    const counter = turnCounter();
    const state = (await query(actor, (replyTo: Ref<number[]>) => ({ type: 'Get', replyTo }), 600_000)) as number[];
    counter.stop();
    return { turns: counter.now(), state };
  } finally {
    stop(system);
  }
}

t.test('an ask behind a burst of 20,000 messages is answered within a few turns, the burst handled in order', async (t) => {
  const draining = await turnsToAnswerBehindBurst((system) => spawnDraining<Msg>(system, behaviour, 'draining', props()));
  t.equal(draining.state.length, BURST, 'every message of the burst was handled before the ask');
  t.ok(draining.state.every((n, i) => n === i), 'in the order sent');
  t.ok(draining.turns < 1000, `answered after ${draining.turns} event-loop turns (nact's actor needs one per queued message)`);

  // The control: nact's own actor needs a turn per message, so this test can tell the two apart.
  const plain = await turnsToAnswerBehindBurst((system) => (spawn as unknown as (p: unknown, f: unknown, name: string, o: unknown) => Ref<Msg>)(system, behaviour, 'plain', props()));
  t.equal(plain.state.length, BURST, 'nact handled the whole burst too');
  t.ok(plain.turns >= BURST, `nact's actor took ${plain.turns} turns`);
});

t.test('a busy actor yields the event loop after its slice', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const actor = spawnDraining<Msg>(system, behaviour, 'slow', props(), 4);
  const counter = turnCounter();
  // 40 messages of 1 ms each: about 4 per 4 ms slice, so the ticker runs between slices.
  for (let i = 0; i < 40; i++) dispatch(actor, { type: 'Slow', spinMs: 1, turn: counter.now });
  const turns = (await query(actor, (replyTo: Ref<number[]>) => ({ type: 'Get', replyTo }), 600_000)) as number[];
  counter.stop();
  const distinct = new Set(turns).size;
  t.equal(turns.length, 40, 'all 40 handled');
  t.ok(distinct >= 5, `the 40 ms of work was spread over ${distinct} turns (other actors and I/O ran between slices)`);
  t.ok(distinct < 40, `several messages shared a turn (${distinct} turns for 40 messages)`);
});

t.test('a crash ends the slice, nact\'s supervision resumes with the last state, and the rest of the mailbox is handled', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  let crashes = 0;
  const actor = spawnDraining<Msg>(system, behaviour, 'crashing', {
    initialState: [],
    onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => {
      crashes++;
      return ctx.resume;
    },
  });
  dispatch(actor, { type: 'Add', n: 1 });
  dispatch(actor, { type: 'Boom' });
  dispatch(actor, { type: 'Add', n: 2 });
  dispatch(actor, { type: 'Boom' });
  dispatch(actor, { type: 'Add', n: 3 });
  const state = (await query(actor, (replyTo: Ref<number[]>) => ({ type: 'Get', replyTo }), 600_000)) as number[];
  t.same(state, [1, 2, 3], 'the messages around the crashes were handled, in order, on the kept state');
  t.equal(crashes, 2, 'each crash reached the crash policy');
});

t.test('an async behaviour is awaited before the next message, within a slice', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const seen: string[] = [];
  const actor = spawnDraining<{ n: number }>(
    system,
    async (state: number, msg: { n: number }) => {
      seen.push(`start ${msg.n}`);
      await Promise.resolve();
      seen.push(`end ${msg.n}`);
      return state + msg.n;
    },
    'async',
    { initialState: 0, onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume },
  );
  for (const n of [1, 2, 3]) dispatch(actor, { n });
  const done = turnCounter();
  while (seen.length < 6) await new Promise((resolve) => setImmediate(resolve));
  done.stop();
  t.same(seen, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3'], 'one message at a time');
});

t.test('an actor stopped by its own message handles nothing after it', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const handled: number[] = [];
  let self: Ref<{ n: number }> | undefined;
  self = spawnDraining<{ n: number }>(
    system,
    (state: number, msg: { n: number }) => {
      handled.push(msg.n);
      if (msg.n === 2 && self) stop(self);
      return state;
    },
    'stopping',
    { initialState: 0, onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume },
  );
  for (const n of [1, 2, 3, 4]) dispatch(self, { n });
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  t.same(handled, [1, 2], 'the messages queued behind the stop are not handled');
  self = undefined;
});

const NACT_CONTEXT_FIELDS = ['children', 'log', 'name', 'parent', 'path', 'self', 'sender'];

t.test("the behaviour's context has nact's fields and values; its children are copied only when read", async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  type Seen = { keys: string[]; readable: string[]; children: string[]; childrenIsGetter: boolean; name: string; path: string; self: unknown; parent: unknown; sender: unknown; hasLog: boolean };
  type CtxMsg = { replyTo: Ref<Seen> };
  const seeing = (_state: null, msg: CtxMsg, ctx: Record<string, unknown>) => {
    const descriptor = Object.getOwnPropertyDescriptor(ctx, 'children') ?? Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ctx) as object, 'children');
    dispatch(msg.replyTo, {
      keys: Object.keys(ctx).sort(),
      readable: NACT_CONTEXT_FIELDS.filter((field) => field in ctx),
      children: [...(ctx.children as Map<string, unknown>).keys()].sort(),
      childrenIsGetter: typeof descriptor?.get === 'function',
      name: ctx.name as string,
      path: String(ctx.path),
      self: ctx.self,
      parent: ctx.parent,
      sender: ctx.sender,
      hasLog: ctx.log !== undefined,
    });
    return null;
  };
  const options = { initialState: null, onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume };
  const draining = spawnDraining<CtxMsg>(system, seeing, 'parent-draining', options);
  const plain = (spawn as unknown as (p: unknown, f: unknown, name: string, o: unknown) => Ref<CtxMsg>)(system, seeing, 'parent-plain', options);
  for (const parent of [draining, plain]) for (const child of ['a', 'b', 'c']) spawnDraining(parent, () => null, child, options);
  const ask = (actor: Ref<CtxMsg>) => query(actor, (replyTo: Ref<Seen>) => ({ replyTo }), 600_000) as Promise<Seen>;
  const [mine, nacts] = [await ask(draining), await ask(plain)];
  t.same(nacts.keys, NACT_CONTEXT_FIELDS, "nact's context has the fields this test knows");
  t.same(mine.readable, NACT_CONTEXT_FIELDS, `the same fields as nact's context (${nacts.keys.join(', ')}), read through the actor`);
  t.same(mine.children, ['a', 'b', 'c'], 'children: the live children, by name');
  t.same(nacts.children, ['a', 'b', 'c'], "(nact's actor sees the same)");
  t.ok(mine.childrenIsGetter, 'children is built when read, not for every message');
  t.equal(mine.name, 'parent-draining');
  t.equal(mine.path, String(nacts.path).replace('parent-plain', 'parent-draining'), 'path');
  t.same(mine.self, draining, 'self');
  t.same(mine.parent, nacts.parent, 'parent: the system, as for nact');
  t.equal(mine.hasLog, nacts.hasLog, 'log');


  const survivor = spawnDraining<CtxMsg>(system, seeing, 'parent-survivor', options);
  const leaving = spawnDraining(survivor, () => null, 'leaving', options);
  spawnDraining(survivor, () => null, 'staying', options);
  stop(leaving);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  t.same((await ask(survivor)).children, ['staying'], 'a stopped child is gone from children');
});

t.test('a message passed along a chain of 50 actors reaches its end in a few event-loop turns (nact: one turn per hop)', async (t) => {
  type Hop = { hops: number; done: () => void };
  const chainTurns = async (spawnOne: (system: Ref<unknown>, next: Ref<Hop> | undefined, i: number) => Ref<Hop>): Promise<number> => {
    const system = start();
    try {
      let next: Ref<Hop> | undefined;
      for (let i = 0; i < 50; i++) next = spawnOne(system, next, i);
      const counter = turnCounter();
      await new Promise<void>((done) => dispatch(next!, { hops: 0, done }));
      counter.stop();
      return counter.now();
    } finally {
      stop(system);
    }
  };
  const hop = (next: Ref<Hop> | undefined) => (state: null, msg: Hop) => {
    if (next) dispatch(next, { hops: msg.hops + 1, done: msg.done });
    else msg.done();
    return state;
  };
  const options = props();
  const draining = await chainTurns((system, next, i) => spawnDraining<Hop>(system, hop(next), `hop-${i}`, options));
  const plain = await chainTurns((system, next, i) => (spawn as unknown as (p: unknown, f: unknown, name: string, o: unknown) => Ref<Hop>)(system, hop(next), `hop-${i}`, options));
  t.ok(draining < 10, `50 hops took ${draining} turns`);
  t.ok(plain >= 50, `nact's actors took ${plain} turns (the control)`);
});

t.test('the shared run queue yields the event loop: 40 busy actors share the turns with I/O', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const counter = turnCounter();
  const actors = Array.from({ length: 40 }, (_, i) => spawnDraining<Msg>(system, behaviour, `busy-${i}`, props()));
  for (const actor of actors) dispatch(actor, { type: 'Slow', spinMs: 1, turn: counter.now });
  const turns = await Promise.all(actors.map(async (actor) => ((await query(actor, (replyTo: Ref<number[]>) => ({ type: 'Get', replyTo }), 600_000)) as number[])[0]!));
  counter.stop();
  const distinct = new Set(turns).size;
  t.ok(distinct >= 5, `40 ms of work in 40 actors was spread over ${distinct} turns`);
  t.ok(distinct < 40, `several actors shared a turn (${distinct} turns for 40 actors)`);
});

t.test('dispatch remembers the actor behind a reference and behaves as nact once it stops', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const seen: string[] = [];
  const options = { initialState: null, onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume };
  const recorder = (tag: string) => (state: null, msg: string) => {
    seen.push(`${tag}:${msg}`);
    return state;
  };
  const turns = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const first = spawnDraining<string>(system, recorder('first'), 'same-name', options);
  dispatch(first, 'a');
  dispatch(first, 'b');
  await turns();
  stop(first);
  await turns();
  dispatch(first, 'lost');
  await turns();
  t.same(seen, ['first:a', 'first:b'], 'a stopped actor gets nothing more');
  const second = spawnDraining<string>(system, recorder('second'), 'same-name', options);
  dispatch(first, 'via-old-reference');
  dispatch(second, 'via-new-reference');
  await turns();
  t.same(seen.slice(2), ['second:via-old-reference', 'second:via-new-reference'], "a new actor of the same path gets what is sent to the old reference, as nact's path lookup does");
});

t.test('a message queued behind others keeps its own sender, and the crash policy sees the mailbox as nact gives it', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const senders: unknown[] = [];
  let mailboxAtCrash: unknown[] = [];
  const actor = spawnDraining<{ n: number } | 'boom' | ((replyTo: Ref<string>) => { n: number; replyTo: Ref<string> })>(
    system,
    (state: number, msg: { n: number; replyTo?: Ref<string> } | 'boom', ctx: { sender: unknown }) => {
      if (msg === 'boom') throw new Error('boom');
      senders.push(ctx.sender);
      if (msg.replyTo) dispatch(msg.replyTo, `answered ${msg.n}`);
      return state + msg.n;
    },
    'senders',
    {
      initialState: 0,
      onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol; mailbox: unknown[] }) => {
        mailboxAtCrash = ctx.mailbox;
        return ctx.resume;
      },
    },
  );
  dispatch(actor, { n: 1 }); // makes the actor busy: what follows waits in its mailbox
  dispatch(actor, 'boom');
  dispatch(actor, { n: 2 });
  const answer = query(actor, (replyTo: Ref<string>) => ({ n: 3, replyTo }), 600_000);
  dispatch(actor, { n: 4 });
  t.equal(await answer, 'answered 3', 'the query queued behind a crash was answered');
  while (senders.length < 4) await new Promise((resolve) => setImmediate(resolve));
  t.equal(senders.length, 4);
  t.equal(senders[0], senders[1], 'dispatched messages share one Nobody sender');
  t.equal((senders[0] as { type?: string }).type, 'nobody', "a dispatch's sender is nact's Nobody");
  t.equal((senders[2] as { type?: string }).type, 'temp', "the query's sender is its temporary reference");
  t.equal(mailboxAtCrash.length, 3, 'the crash policy saw the three messages still queued');
  t.same(
    mailboxAtCrash.map((entry) => (entry as { message: { n: number } }).message.n),
    [2, 3, 4],
    'as nact { message, sender } entries, in order',
  );
  t.equal(((mailboxAtCrash[1] as { sender: { type?: string } }).sender).type, 'temp', "with each one's sender");
});

t.test('more ready actors than the run queue holds at first all run, in the order they became ready', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const order: number[] = [];
  const ACTORS = 5_000; // the run queue's ring starts at 1,024 and grows while it runs
  const actors = Array.from({ length: ACTORS }, (_, i) =>
    spawnDraining<number>(system, (state: number, n: number) => {
      order.push(n);
      return state;
    }, `ready-${i}`, { initialState: 0, onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume }),
  );
  for (let round = 0; round < 2; round++) actors.forEach((actor, i) => dispatch(actor, round * ACTORS + i));
  while (order.length < 2 * ACTORS) await new Promise((resolve) => setImmediate(resolve));
  t.equal(order.length, 2 * ACTORS, 'every message handled once');
  // The actors take their first turns as they became ready; each handles its own messages in order
  // (both in one slice, or the second later if its slice was spent: wall time decides that).
  t.same(order.filter((n) => n < ACTORS), Array.from({ length: ACTORS }, (_, i) => i), 'first turns in the order the actors became ready');
  const at = new Map(order.map((n, index) => [n, index]));
  t.ok(Array.from({ length: ACTORS }, (_, i) => at.get(i)! < at.get(ACTORS + i)!).every(Boolean), "each actor's messages in the order sent");
  t.same([...order].sort((a, b) => a - b), Array.from({ length: 2 * ACTORS }, (_, i) => i), 'nothing lost or repeated');
});

t.test('actors made ready while the run queue runs join it in order, across its growth', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const order: string[] = [];
  const onCrash = (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume;
  // 600 ready actors each make two more ready while the queue runs: it outgrows its first 1,024
  // places with its head part-way round, so the growth must keep the ring's order.
  const second = Array.from({ length: 1200 }, (_, i) =>
    spawnDraining<string>(system, (state: number, msg: string) => {
      order.push(msg);
      return state;
    }, `second-${i}`, { initialState: 0, onCrash }),
  );
  const first = Array.from({ length: 600 }, (_, i) =>
    spawnDraining<string>(system, (state: number, msg: string) => {
      order.push(msg);
      dispatch(second[2 * i]!, `b${2 * i}`);
      dispatch(second[2 * i + 1]!, `b${2 * i + 1}`);
      return state;
    }, `first-${i}`, { initialState: 0, onCrash }),
  );
  first.forEach((actor, i) => dispatch(actor, `a${i}`));
  while (order.length < 1800) await new Promise((resolve) => setImmediate(resolve));
  t.same(order, [...Array.from({ length: 600 }, (_, i) => `a${i}`), ...Array.from({ length: 1200 }, (_, i) => `b${i}`)], 'every actor ran once, in the order it became ready');
});

t.test('actors without children share nothing that a first child changes', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  type Msg = { replyTo: Ref<string[]> };
  const childrenOf = (_state: null, msg: Msg, ctx: { children: Map<string, unknown> }) => {
    dispatch(msg.replyTo, [...ctx.children.keys()]);
    return null;
  };
  const options = { initialState: null, onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume };
  const a = spawnDraining<Msg>(system, childrenOf, 'a', options);
  const b = spawnDraining<Msg>(system, childrenOf, 'b', options);
  const ask = (actor: Ref<Msg>) => query(actor, (replyTo: Ref<string[]>) => ({ replyTo }), 600_000) as Promise<string[]>;
  t.same(await ask(a), []);
  const child = spawnDraining(a, () => null, 'x', options);
  t.same(await ask(a), ['x'], 'a child spawned later is seen by its parent');
  t.same(await ask(b), [], 'and not by another actor that had none');
  t.throws(() => spawnDraining(a, () => null, 'x', options), /already exists/, "nact's duplicate-name check still sees it");
  t.doesNotThrow(() => stop(spawnDraining(b, () => null, 'x', options)), 'the same name under another parent is free');
  stop(child);
  while ((await ask(a)).length > 0) await new Promise((resolve) => setImmediate(resolve));
  t.same(await ask(a), [], 'a stopped child is gone');
});
