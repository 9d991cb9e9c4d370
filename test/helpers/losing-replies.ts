import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';

/** `db`, whose next `armed` transactions commit and then fail as a dropped connection does. */
export function losingReplies(db: Kysely<Database>): { db: Kysely<Database>; arm: (n: number) => void; lost: () => number } {
  let armed = 0;
  let lost = 0;
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') {
        return () => {
          const builder = target.transaction();
          return new Proxy(builder, {
            get(b, p) {
              if (p === 'execute') {
                return async (fn: Parameters<typeof builder.execute>[0]) => {
                  const result = await b.execute(fn);
                  if (armed > 0) {
                    armed--;
                    lost++;
                    throw new Error('Connection terminated unexpectedly'); // pg's message when the socket closes
                  }
                  return result;
                };
              }
              const value = Reflect.get(b, p, b) as unknown;
              return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(b) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: wrapped, arm: (n) => (armed = n), lost: () => lost };
}
