import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { listBuildings, listCampuses } from '../db/campus.repository.ts';
import { buildingView, campusView, changeBuilding, changeCampus, createBuilding, createCampus, getCampusSettings, patchSettings, type CampusSettingsRuntime } from '../services/campus.service.ts';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const Name = Type.String({ minLength: 1, maxLength: 100 });
const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Asia/Shanghai' });
const Floors = Type.Integer({ minimum: 1, maximum: 200 });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const CampusBody = Type.Object({ id: Id, name: Name, timeZone: Type.Optional(TimeZone) }, { additionalProperties: false });
const CampusPatch = Type.Object({ name: Type.Optional(Name), retired: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
const BuildingBody = Type.Object({ id: Id, campusId: Type.String({ minLength: 1, maxLength: 64 }), name: Name, floors: Floors }, { additionalProperties: false });
const BuildingPatch = Type.Object({ name: Type.Optional(Name), floors: Type.Optional(Floors), retired: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
const BuildingQuery = Type.Object({ campusId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) });
const Fen = Type.Integer({ minimum: 0, maximum: 100_000_000 });
const SettingsPatch = Type.Object(
  {
    warningLevels: Type.Optional(Type.Array(Type.Integer({ minimum: -100_000_000, maximum: 100_000_000 }), { maxItems: 5, description: 'balances (fen) below which a warning is raised' })),
    overdraftLimit: Type.Optional(Fen),
    restoreThreshold: Type.Optional(Fen),
    waterArrearsCutsElectricity: Type.Optional(Type.Boolean()),
    timeZone: Type.Optional(TimeZone),
    settlement: Type.Optional(Type.Union([Type.Literal('per-share'), Type.Literal('none')])),
    semesters: Type.Optional(
      Type.Array(
        Type.Object(
          { id: Type.String({ minLength: 1, maxLength: 64 }), from: Type.String({ minLength: 10, maxLength: 10, description: 'first local day YYYY-MM-DD' }), to: Type.String({ minLength: 10, maxLength: 10, description: 'last local day YYYY-MM-DD (inclusive)' }) },
          { additionalProperties: false },
        ),
        { maxItems: 40, description: 'the periods of per-semester free quota policies: real days, from <= to, not overlapping (replaces the list)' },
      ),
    ),
  },
  { additionalProperties: false },
);

/**
 * Campuses, buildings and campus settings over REST (issue 10): a production database is set
 * up without SQL. Changes are audited; settings take effect on the running dormitories at once.
 */
async function campusRoutes(app: FastifyInstance, options: { context: AppContext; runtime: CampusSettingsRuntime }): Promise<void> {
  const { db, clock } = options.context;
  const deps = { db, clock, runtime: options.runtime };
  const staff = app.requireRole('admin', 'manager', 'finance');
  const control = app.requireRole('admin', 'manager');

  app.get('/api/campuses', { preHandler: staff, schema: { tags: ['campuses'], summary: 'Every campus (retired ones too)' } }, async () => ({ campuses: (await listCampuses(db)).map(campusView) }));
  app.post('/api/campuses', { preHandler: app.requireRole('admin'), schema: { tags: ['campuses'], summary: 'Create a campus', body: CampusBody } }, async (request, reply) =>
    reply.status(201).send(await createCampus(deps, request.body as Static<typeof CampusBody>, request.operator!.username)),
  );
  app.patch('/api/campuses/:id', { preHandler: app.requireRole('admin'), schema: { tags: ['campuses'], summary: 'Rename or retire a campus (one with buildings in service cannot retire)', params: IdParams, body: CampusPatch } }, async (request) =>
    changeCampus(deps, (request.params as Static<typeof IdParams>).id, request.body as Static<typeof CampusPatch>, request.operator!.username),
  );
  app.get('/api/campuses/:id/settings', { preHandler: staff, schema: { tags: ['campuses'], summary: "A campus's settings: warning levels, overdraft, restore threshold, linkage, time zone, settlement", params: IdParams } }, async (request) =>
    getCampusSettings(deps, (request.params as Static<typeof IdParams>).id),
  );
  app.patch(
    '/api/campuses/:id/settings',
    { preHandler: app.requireRole('admin'), schema: { tags: ['campuses'], summary: "Change a campus's settings (the fields given); live on its dormitories", params: IdParams, body: SettingsPatch } },
    async (request) => patchSettings(deps, (request.params as Static<typeof IdParams>).id, request.body as Static<typeof SettingsPatch>, request.operator!.username),
  );

  app.get('/api/buildings', { preHandler: staff, schema: { tags: ['campuses'], summary: 'Buildings (of a campus)', querystring: BuildingQuery } }, async (request) => ({
    buildings: (await listBuildings(db, (request.query as Static<typeof BuildingQuery>).campusId)).map(buildingView),
  }));
  app.post('/api/buildings', { preHandler: control, schema: { tags: ['campuses'], summary: 'Create a building', body: BuildingBody } }, async (request, reply) =>
    reply.status(201).send(await createBuilding(deps, request.body as Static<typeof BuildingBody>, request.operator!.username)),
  );
  app.patch('/api/buildings/:id', { preHandler: control, schema: { tags: ['campuses'], summary: 'Rename, re-floor or retire a building (one with students or meters cannot retire)', params: IdParams, body: BuildingPatch } }, async (request) =>
    changeBuilding(deps, (request.params as Static<typeof IdParams>).id, request.body as Static<typeof BuildingPatch>, request.operator!.username),
  );
}

export default fp(campusRoutes, { name: 'campus-routes', dependencies: ['auth'] });
