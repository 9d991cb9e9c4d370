import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';

type Builder = { execute: (...args: unknown[]) => Promise<unknown> };
const isBuilder = (value: unknown): value is Builder => typeof value === 'object' && value !== null && typeof (value as Builder).execute === 'function';

/**
 * `db`, where a query that starts with `selectFrom(from)` can be held once armed: its rows are
 * read and its connection given back (PGlite has one), but its caller waits until released. A
 * test acts in the window between a read and what the reader does with it.
 */
export function heldSelect(db: Kysely<Database>, from: string): { db: Kysely<Database>; arm: () => Promise<void>; release: () => void } {
  let armed = false;
  let held: (() => void) | undefined;
  let release: (() => void) | undefined;
  let gate: Promise<void> = Promise.resolve();
  const wrap = (builder: Builder): Builder =>
    new Proxy(builder, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        if (prop === 'execute') {
          return async (...args: unknown[]) => {
            const rows = await target.execute(...args);
            if (armed) {
              armed = false;
              held?.();
              await gate;
            }
            return rows;
          };
        }
        return (...args: unknown[]) => {
          const out = (value as (...a: unknown[]) => unknown).apply(target, args);
          return isBuilder(out) ? wrap(out) : out;
        };
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'selectFrom') {
        return (...args: unknown[]) => {
          const builder = (value as (...a: unknown[]) => Builder).apply(target, args);
          return args[0] === from ? wrap(builder) : builder;
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return {
    db: wrapped,
    arm: () => {
      armed = true;
      gate = new Promise((resolve) => (release = resolve));
      return new Promise((resolve) => (held = resolve));
    },
    release: () => release?.(),
  };
}
