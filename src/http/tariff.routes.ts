import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { listTariffs } from '../db/tariff.repository.ts';
import { AssignBody, selectorOf } from './dormitory-selector.ts';
import { dryRunTariff } from '../services/tariff-dry-run.service.ts';
import { assignTariffTo, createTariff, getTariff, reviseTariff, tariffView, type TariffRuntime } from '../services/tariff.service.ts';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const Purse = Type.Union([Type.Literal('electricity'), Type.Literal('water')]);
const Definition = Type.Unknown({
  description:
    "The tariff (docs/billing.md): {kind:'single',rate} | {kind:'time_of_use',periods:[{name,from,to,rate}]} | {kind:'tiered',tiers:[{upTo,rate,name?}]} | {kind:'periodic',rates:[{months?,weekdays?,rate,name?}],defaultRate}; rates in milli-fen per kWh or m3. Validated on write: a 400 names the field (e.g. definition.periods[1].from).",
});
const CreateBody = Type.Object({ id: Id, name: Type.String({ minLength: 1, maxLength: 100 }), purse: Purse, definition: Definition }, { additionalProperties: false });
const ReviseBody = Type.Object(
  {
    definition: Definition,
    effectiveFrom: Type.String({ format: 'date-time', maxLength: 40, description: 'When the new version takes effect (not in the past, after the latest version)' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const DryRunBody = Type.Object(
  {
    definition: Definition,
    from: Type.String({ format: 'date-time', maxLength: 40 }),
    to: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Default: now' })),
    scope: Type.Optional(AssignBody),
  },
  { additionalProperties: false, description: 'The draft definition and the period whose recorded interval readings it re-prices; scope defaults to the dormitories the tariff prices' },
);

/**
 * Tariffs over REST (issue 10): versions are kept, a new one takes effect at its date on the
 * live meters; each charge's ledger entry names the tariff and version that priced it.
 * Reading is for staff; writing prices is finance's (and the admin's).
 */
async function tariffRoutes(app: FastifyInstance, options: { context: AppContext; runtime: TariffRuntime }): Promise<void> {
  const { db, clock } = options.context;
  const deps = { db, clock, runtime: options.runtime };
  const readers = app.requireRole('admin', 'manager', 'finance');
  const writers = app.requireRole('admin', 'finance');

  app.get('/api/tariffs', { preHandler: readers, schema: { tags: ['tariffs'], summary: 'Every tariff with its versions and the version in force now' } }, async () => {
    const now = clock.now();
    return { tariffs: (await listTariffs(db)).map((t) => tariffView(t, now)) };
  });

  app.get('/api/tariffs/:id', { preHandler: readers, schema: { tags: ['tariffs'], summary: 'A tariff with its versions', params: IdParams } }, async (request) =>
    getTariff(db, clock, (request.params as Static<typeof IdParams>).id),
  );

  app.post('/api/tariffs', { preHandler: writers, schema: { tags: ['tariffs'], summary: 'Create a tariff (version 1, in force from the beginning); validated on write', body: CreateBody } }, async (request, reply) => {
    const body = request.body as Static<typeof CreateBody>;
    return reply.status(201).send(await createTariff(deps, body, request.operator!.username));
  });

  app.put(
    '/api/tariffs/:id',
    { preHandler: writers, schema: { tags: ['tariffs'], summary: 'Add a version of a tariff, in force from effectiveFrom (the live meters switch at that date)', params: IdParams, body: ReviseBody } },
    async (request) => reviseTariff(deps, (request.params as Static<typeof IdParams>).id, request.body as Static<typeof ReviseBody>, request.operator!.username),
  );

  app.post(
    '/api/tariffs/:id/assignments',
    { preHandler: writers, schema: { tags: ['tariffs'], summary: "Give a tariff to a building, a floor or a list of dormitories (for the tariff's purse; live)", params: IdParams, body: AssignBody } },
    async (request) => {
      const body = request.body as Static<typeof AssignBody>;
      const id = (request.params as Static<typeof IdParams>).id;
      return assignTariffTo(deps, id, selectorOf(body, ''), request.operator!.username);
    },
  );

  app.post(
    '/api/tariffs/:id/dry-run',
    { preHandler: writers, schema: { tags: ['tariffs'], summary: 'Re-price the recorded interval readings of a period under a draft: old charge, new charge and difference per dormitory and in total (nothing is billed)', params: IdParams, body: DryRunBody } },
    async (request) => {
      const body = request.body as Static<typeof DryRunBody>;
      return dryRunTariff(db, clock, (request.params as Static<typeof IdParams>).id, { definition: body.definition, from: body.from, to: body.to, scope: body.scope ? selectorOf(body.scope, 'scope.') : undefined });
    },
  );
}

export default fp(tariffRoutes, { name: 'tariff-routes', dependencies: ['auth'] });
