import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { CampusRuntime } from '../actors/campus-runtime.ts';
import type { AppContext } from '../app-context.ts';
import type { NewMeter } from '../db/installation.repository.ts';
import { addDormitory, addGateway, gatewayStatus, installMeter, removeDormitory, removeGateway, removeMeter, type TopologyDeps } from '../services/topology.service.ts';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const MeterBody = Type.Object(
  {
    id: Id,
    kind: Type.Union([Type.Literal('electric'), Type.Literal('water')]),
    profile: Type.Union([Type.Literal('campus-1in3out'), Type.Literal('sdm120'), Type.Literal('acrel-ddsy1352'), Type.Literal('water-valve')]),
    gatewayId: Type.String({ minLength: 1, maxLength: 64 }),
    unitAddress: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
const DormitoryBody = Type.Object(
  {
    id: Id,
    building: Type.String({ minLength: 1, maxLength: 64 }),
    floor: Type.Integer({ minimum: -5, maximum: 200 }),
    room: Type.String({ minLength: 1, maxLength: 32 }),
    capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 16 })),
    electricityTariffId: Type.Optional(Type.String({ maxLength: 64 })),
    waterTariffId: Type.Optional(Type.String({ maxLength: 64 })),
    electricityQuotaId: Type.Optional(Type.String({ maxLength: 64 })),
    holidayOff: Type.Optional(Type.Boolean()),
    meters: Type.Optional(Type.Array(MeterBody, { maxItems: 8, description: 'meters installed with the dormitory, in the same transaction (one actor start instead of one rebuild per meter)' })),
  },
  { additionalProperties: false },
);
const GatewayBody = Type.Object(
  {
    id: Id,
    campusId: Type.String({ minLength: 1, maxLength: 64 }),
    buildingId: Type.Optional(Type.String({ maxLength: 64 })),
    protocol: Type.Union([Type.Literal('modbus-tcp'), Type.Literal('mqtt')]),
    address: Type.String({ minLength: 1, maxLength: 200, description: 'host:port for modbus-tcp; the gateway id on the broker for mqtt; "simulator" for the in-process simulator' }),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const MeterParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }), meterId: Type.String({ minLength: 1, maxLength: 100 }) });

/**
 * Adding and removing dormitories, gateways and meters (src/services/topology.service.ts): each
 * change is committed, audited, and then applied to the live actor tree (no restart).
 */
async function topologyRoutes(app: FastifyInstance, options: { context: AppContext; runtime: CampusRuntime }): Promise<void> {
  const { db, config } = options.context;
  const deps: TopologyDeps = { db, runtime: options.runtime, simulate: config.simulate, log: app.log };
  const admins = app.requireRole('admin', 'manager');
  const newMeter = (meter: Static<typeof MeterBody>): NewMeter => ({ id: meter.id, kind: meter.kind, profile: meter.profile, gatewayId: meter.gatewayId, unitAddress: meter.unitAddress });

  app.post('/api/dormitories', { preHandler: admins, schema: { tags: ['topology'], summary: 'Add a dormitory (starts its actor)', body: DormitoryBody } }, async (request, reply) => {
    const { building, meters, ...rest } = request.body as Static<typeof DormitoryBody>;
    await addDormitory(deps, { ...rest, buildingId: building }, (meters ?? []).map(newMeter), request.operator!.username);
    return reply.status(201).send({ id: rest.id });
  });

  app.delete('/api/dormitories/:id', { preHandler: admins, schema: { tags: ['topology'], summary: 'Remove an empty dormitory with no money (stops its actor)', params: IdParams } }, async (request, reply) => {
    const { id } = request.params as Static<typeof IdParams>;
    await removeDormitory(deps, id, request.operator!.username);
    return reply.status(204).send();
  });

  app.post('/api/dormitories/:id/meters', { preHandler: admins, schema: { tags: ['topology'], summary: 'Install a meter in a dormitory (restarts its actor)', params: IdParams, body: MeterBody } }, async (request, reply) => {
    const { id } = request.params as Static<typeof IdParams>;
    const meter = newMeter(request.body as Static<typeof MeterBody>);
    await installMeter(deps, id, meter, request.operator!.username);
    return reply.status(201).send({ id: meter.id });
  });

  app.delete('/api/dormitories/:id/meters/:meterId', { preHandler: admins, schema: { tags: ['topology'], summary: 'Remove a meter (its billed consumption is committed first)', params: MeterParams } }, async (request, reply) => {
    const { id, meterId } = request.params as Static<typeof MeterParams>;
    await removeMeter(deps, id, meterId, request.operator!.username);
    return reply.status(204).send();
  });

  app.post('/api/gateways', { preHandler: admins, schema: { tags: ['topology'], summary: 'Add a gateway (starts its driver session)', body: GatewayBody } }, async (request, reply) => {
    const body = request.body as Static<typeof GatewayBody>;
    await addGateway({ ...deps, log: request.log }, { id: body.id, campusId: body.campusId, buildingId: body.buildingId ?? null, protocol: body.protocol, address: body.address }, request.operator!.username);
    return reply.status(201).send({ id: body.id });
  });

  app.delete('/api/gateways/:id', { preHandler: admins, schema: { tags: ['topology'], summary: 'Remove a gateway that no meter uses (stops its driver)', params: IdParams } }, async (request, reply) => {
    const { id } = request.params as Static<typeof IdParams>;
    await removeGateway(deps, id, request.operator!.username);
    return reply.status(204).send();
  });

  app.get('/api/gateways/:id', { preHandler: app.requireRole('admin', 'manager', 'finance'), schema: { tags: ['topology'], summary: 'A gateway and its live status', params: IdParams } }, async (request) => {
    const { id } = request.params as Static<typeof IdParams>;
    return gatewayStatus(deps, id);
  });
}

export default fp(topologyRoutes, { name: 'topology-routes', dependencies: ['auth'] });
