import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import type { Database } from '../../src/db/database.ts';

/** Refuses every query as an unreachable server does while `away` (thrown where the query starts: the caller's promise rejects). */
class Refusing implements KyselyPlugin {
  away = false;
  refused = 0;

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.away) {
      this.refused++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** `db`, whose every query fails as a refused connection does between `down()` and `up()`. */
export function databaseAway(db: Kysely<Database>): { db: Kysely<Database>; down: () => void; up: () => void; refused: () => number } {
  const refusing = new Refusing();
  return {
    db: db.withPlugin(refusing),
    down: () => (refusing.away = true),
    up: () => (refusing.away = false),
    refused: () => refusing.refused,
  };
}
