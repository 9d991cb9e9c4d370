import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { dormitoryQuota } from '../services/quota-policy.service.ts';
import type { BillingState } from '../domain/tariff.ts';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { findDormitory, listDormitories } from '../db/dormitory.repository.ts';
import { listFoldedLedger } from '../db/ledger-folded.repository.ts';
import { listLedger } from '../db/ledger.repository.ts';
import { DomainError } from '../errors.ts';
import { buildingTimeZone } from '../services/campus.service.ts';
import { daysLeftOf } from '../services/days-left.service.ts';
import { DORMITORY_STATES } from '../live/live-feed.ts';
import { pagination, RowId } from './schema-bounds.ts';
import { assertCanRead } from './auth.plugin.ts';

const ListQuery = Type.Object(
  {
    building: Type.Optional(Type.String({ maxLength: 100 })),
    state: Type.Optional(Type.Union(DORMITORY_STATES.map((state) => Type.Literal(state)), { description: 'the live state (kept current by the dormitory actors)' })),
    q: Type.Optional(Type.String({ maxLength: 100 })),
    ...pagination(),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const LedgerQuery = Type.Object(
  {
    purse: Type.Optional(Type.Union([Type.Literal('electricity'), Type.Literal('water')])),
    ...pagination(),
    fold: Type.Optional(
      Type.Literal('free-usage-by-day', {
        description: "Fold each campus day's free-quota usage (0.00 consumption entries) of a purse into one row (`fold`); pages by `before` (the answer's `next`; `page` is not used) and has no `total`",
      }),
    ),
    before: Type.Optional(RowId()),
  },
  { additionalProperties: false },
);

/** Live state of a dormitory's circuits, filled in by the actor tree when it runs. */
export interface DormitoryLiveView {
  liveDormitory(id: string): Promise<Record<string, unknown> | undefined>;
  /** Each purse's billing state as the running dormitory holds it (undefined: not running). */
  purseStates?(id: string): Promise<{ electricity: BillingState | null; water: BillingState | null } | undefined>;
}

async function dormitoryRoutes(app: FastifyInstance, options: { context: AppContext; live?: DormitoryLiveView }): Promise<void> {
  const { db, clock } = options.context;
  const readers = app.requireRole('admin', 'manager', 'finance', 'student');

  app.get('/api/dormitories', { preHandler: readers, schema: { tags: ['dormitories'], summary: 'List and search dormitories', querystring: ListQuery } }, async (request) => {
    const query = request.query as Static<typeof ListQuery>;
    const operator = request.operator!;
    if (operator.role === 'student') {
      const own = operator.dormitoryId ? await findDormitory(db, operator.dormitoryId) : undefined;
      return { items: own ? [own] : [], total: own ? 1 : 0 };
    }
    return listDormitories(db, { building: query.building, state: query.state, q: query.q, page: query.page ?? 1, pageSize: query.pageSize ?? 50 });
  });

  app.get('/api/dormitories/:id', { preHandler: readers, schema: { tags: ['dormitories'], summary: 'One dormitory with balances, occupants, meters and circuits', params: IdParams } }, async (request) => {
    const { id } = request.params as Static<typeof IdParams>;
    assertCanRead(request.operator, id);
    const dormitory = await findDormitory(db, id);
    if (!dormitory) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`);
    const live = await options.live?.liveDormitory(id);
    const [daysLeft, timeZone] = await Promise.all([daysLeftOf(db, [id], clock.now()).then((all) => all.get(id)), buildingTimeZone(db, dormitory.building)]);
    // quota: each purse's free quota (granted, used, remaining, lapsed) for the bills and the student page.
    const quota = await dormitoryQuota(db, id, await options.live?.purseStates?.(id));
    // timeZone: the campus's, in which pages show this room's times.
    return { ...dormitory, ...(live ?? {}), daysLeft, timeZone, quota };
  });

  app.get('/api/dormitories/:id/ledger', { preHandler: readers, schema: { tags: ['ledger'], summary: 'Ledger entries of a dormitory, newest first (paged), or with free-quota usage folded by day (keyset-paged)', params: IdParams, querystring: LedgerQuery } }, async (request) => {
    const { id } = request.params as Static<typeof IdParams>;
    const query = request.query as Static<typeof LedgerQuery>;
    assertCanRead(request.operator, id);
    const dormitory = await findDormitory(db, id);
    if (!dormitory) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`);
    if (query.fold) {
      return listFoldedLedger(db, id, { purse: query.purse, before: query.before, pageSize: query.pageSize ?? 50, timeZone: await buildingTimeZone(db, dormitory.building) });
    }
    if (query.before !== undefined) throw new DomainError('VALIDATION_FAILED', 'before pages a folded ledger (fold=free-usage-by-day); use page', 'before');
    return listLedger(db, id, { purse: query.purse, page: query.page ?? 1, pageSize: query.pageSize ?? 50 });
  });
}

export default fp(dormitoryRoutes, { name: 'dormitory-routes', dependencies: ['auth'] });
