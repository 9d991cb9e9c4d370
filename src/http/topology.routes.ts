import type { FastifyInstance } from 'fastify';
import type { Transaction } from 'kysely';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { CampusRuntime } from '../actors/campus-runtime.ts';
import type { AppContext } from '../app-context.ts';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database } from '../db/database.ts';
import { ensureAccounts } from '../db/ledger.repository.ts';
import { gatewayAddressProblem } from '../domain/gateway-address.ts';
import { DomainError } from '../errors.ts';
import { parseUnitId } from '../drivers/modbus-unit-id.ts';
import { assertTariffForPurse } from '../services/tariff.service.ts';

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

/** Refuses a meter whose gateway is missing, whose Modbus unit is not 1..247, or whose profile does not fit its kind (`field` prefixes the field names). */
async function assertMeterFits(db: AppContext['db'], meter: Static<typeof MeterBody>, field = ''): Promise<void> {
  const gateway = await db.selectFrom('gateways').select(['id', 'protocol']).where('id', '=', meter.gatewayId).executeTakeFirst();
  if (!gateway) throw new DomainError('GATEWAY_NOT_FOUND', `gateway ${meter.gatewayId} does not exist`, `${field}gatewayId`);
  if (gateway.protocol === 'modbus-tcp' && parseUnitId(meter.unitAddress) === undefined) throw new DomainError('VALIDATION_FAILED', 'a Modbus unit address is an integer 1..247', `${field}unitAddress`);
  if ((meter.kind === 'water') !== (meter.profile === 'water-valve')) throw new DomainError('VALIDATION_FAILED', `profile ${meter.profile} does not fit a ${meter.kind} meter`, `${field}profile`);
}

/** Inserts a meter (and a campus 1-in-3-out's three circuits) and audits its installation. */
async function installMeter(trx: Transaction<Database>, dormitoryId: string, meter: Static<typeof MeterBody>, operator: string): Promise<void> {
  await trx.insertInto('meters').values({ id: meter.id, dormitory_id: dormitoryId, kind: meter.kind, profile: meter.profile, gateway_id: meter.gatewayId, unit_address: meter.unitAddress }).execute();
  if (meter.profile === 'campus-1in3out') {
    await trx.insertInto('circuits').values((['lighting', 'socket', 'ac'] as const).map((kind) => ({ id: `${meter.id}:${kind}`, meter_id: meter.id, kind }))).execute();
  }
  await appendAudit(trx, { operator, action: 'meter.install', targetType: 'dormitory', targetId: dormitoryId, details: { ...meter } });
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

/**
 * Adding and removing dormitories, gateways and meters. Each change is committed, audited,
 * and then applied to the live actor tree (no restart): the dormitory (or gateway) actor is
 * stopped and started again from the database.
 */
async function topologyRoutes(app: FastifyInstance, options: { context: AppContext; runtime: CampusRuntime }): Promise<void> {
  const { db } = options.context;
  const { runtime } = options;
  const admins = app.requireRole('admin', 'manager');

  app.post('/api/dormitories', { preHandler: admins, schema: { tags: ['topology'], summary: 'Add a dormitory (starts its actor)', body: DormitoryBody } }, async (request, reply) => {
    const body = request.body as Static<typeof DormitoryBody>;
    const building = await db.selectFrom('buildings').select(['id', 'retired_at']).where('id', '=', body.building).executeTakeFirst();
    if (!building) throw new DomainError('BUILDING_NOT_FOUND', `building ${body.building} does not exist`, 'building');
    if (building.retired_at !== null) throw new DomainError('VALIDATION_FAILED', `building ${body.building} is retired`, 'building');
    // A tariff prices only its own purse (an electricity tariff never prices a water meter).
    if (body.electricityTariffId) await assertTariffForPurse(db, body.electricityTariffId, 'electricity', 'electricityTariffId');
    if (body.waterTariffId) await assertTariffForPurse(db, body.waterTariffId, 'water', 'waterTariffId');
    const meters = body.meters ?? [];
    for (const [i, meter] of meters.entries()) await assertMeterFits(db, meter, `meters/${i}/`);
    try {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('dormitories')
          .values({
            id: body.id,
            building_id: body.building,
            floor: body.floor,
            room: body.room,
            capacity: body.capacity ?? 4,
            tags: JSON.stringify(body.tags ?? []),
            electricity_tariff_id: body.electricityTariffId ?? null,
            water_tariff_id: body.waterTariffId ?? null,
            electricity_quota_id: body.electricityQuotaId ?? null,
            holiday_off: body.holidayOff ?? false,
          })
          .execute();
        await ensureAccounts(trx, body.id);
        const { meters: _installed, ...dormitory } = body;
        await appendAudit(trx, { operator: request.operator!.username, action: 'dormitory.create', targetType: 'dormitory', targetId: body.id, details: dormitory });
        for (const meter of meters) await installMeter(trx, body.id, meter, request.operator!.username);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `dormitory ${body.id} (or room ${body.room} in ${body.building}, or one of its meters or units) already exists`, 'id');
      throw error;
    }
    await runtime.reloadDormitory(body.id);
    return reply.status(201).send({ id: body.id });
  });

  app.delete('/api/dormitories/:id', { preHandler: admins, schema: { tags: ['topology'], summary: 'Remove an empty dormitory with no money (stops its actor)', params: IdParams } }, async (request, reply) => {
    const { id } = request.params as Static<typeof IdParams>;
    const dormitory = await db.selectFrom('dormitories').select('id').where('id', '=', id).executeTakeFirst();
    if (!dormitory) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`);
    const occupied = await db.selectFrom('occupants').select('id').where('dormitory_id', '=', id).executeTakeFirst();
    if (occupied) throw new DomainError('ALREADY_EXISTS', `dormitory ${id} still has occupants: check them out first`, 'id');
    const ledger = await db.selectFrom('ledger_entries').select('id').where('dormitory_id', '=', id).executeTakeFirst();
    if (ledger) throw new DomainError('ALREADY_EXISTS', `dormitory ${id} has ledger history: settle and archive it instead`, 'id');
    await runtime.unloadDormitory(id);
    await db.transaction().execute(async (trx) => {
      const meters = await trx.selectFrom('meters').select('id').where('dormitory_id', '=', id).execute();
      const meterIds = meters.map((m) => m.id);
      if (meterIds.length) {
        await trx.deleteFrom('billing_cursors').where('meter_id', 'in', meterIds).execute();
        await trx.deleteFrom('circuits').where('meter_id', 'in', meterIds).execute();
        await trx.deleteFrom('meters').where('id', 'in', meterIds).execute();
      }
      await trx.deleteFrom('accounts').where('dormitory_id', '=', id).execute();
      await trx.deleteFrom('purse_billing_states').where('dormitory_id', '=', id).execute();
      await trx.deleteFrom('dormitories').where('id', '=', id).execute();
      await appendAudit(trx, { operator: request.operator!.username, action: 'dormitory.delete', targetType: 'dormitory', targetId: id });
    });
    return reply.status(204).send();
  });

  app.post('/api/dormitories/:id/meters', { preHandler: admins, schema: { tags: ['topology'], summary: 'Install a meter in a dormitory (restarts its actor)', params: IdParams, body: MeterBody } }, async (request, reply) => {
    const { id } = request.params as Static<typeof IdParams>;
    const body = request.body as Static<typeof MeterBody>;
    if (!(await db.selectFrom('dormitories').select('id').where('id', '=', id).executeTakeFirst())) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`);
    await assertMeterFits(db, body);
    try {
      await db.transaction().execute((trx) => installMeter(trx, id, body, request.operator!.username));
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `meter ${body.id} or unit ${body.unitAddress} on ${body.gatewayId} already exists`, 'id');
      throw error;
    }
    await runtime.reloadDormitory(id);
    return reply.status(201).send({ id: body.id });
  });

  app.delete('/api/dormitories/:id/meters/:meterId', { preHandler: admins, schema: { tags: ['topology'], summary: 'Remove a meter (its billed consumption is committed first)', params: MeterParams } }, async (request, reply) => {
    const { id, meterId } = request.params as Static<typeof MeterParams>;
    const meter = await db.selectFrom('meters').select('id').where('id', '=', meterId).where('dormitory_id', '=', id).executeTakeFirst();
    if (!meter) throw new DomainError('METER_NOT_FOUND', `meter ${meterId} is not in dormitory ${id}`);
    await runtime.unloadDormitory(id);
    await runtime.flush();
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('billing_cursors').where('meter_id', '=', meterId).execute();
      await trx.deleteFrom('circuits').where('meter_id', '=', meterId).execute();
      await trx.deleteFrom('meters').where('id', '=', meterId).execute();
      await appendAudit(trx, { operator: request.operator!.username, action: 'meter.remove', targetType: 'dormitory', targetId: id, details: { meterId } });
    });
    await runtime.reloadDormitory(id);
    return reply.status(204).send();
  });

  app.post('/api/gateways', { preHandler: admins, schema: { tags: ['topology'], summary: 'Add a gateway (starts its driver session)', body: GatewayBody } }, async (request, reply) => {
    const body = request.body as Static<typeof GatewayBody>;
    if (!(await db.selectFrom('campuses').select('id').where('id', '=', body.campusId).executeTakeFirst())) throw new DomainError('NOT_FOUND', `campus ${body.campusId} does not exist`, 'campusId');
    const addressProblem = gatewayAddressProblem(body.protocol, body.address, options.context.config.simulate);
    if (addressProblem) throw new DomainError('VALIDATION_FAILED', addressProblem, 'address');
    // Before anything is committed: an MQTT gateway on a node that booted without one connects
    // the node to the broker now; a broker out of reach refuses the gateway whole (503, no row).
    try {
      await runtime.prepareGateway({ protocol: body.protocol });
    } catch (error) {
      request.log.warn({ err: error, gateway: body.id }, 'gateway refused: its driver cannot be readied');
      throw new DomainError('BROKER_UNAVAILABLE', `the MQTT broker cannot be reached; gateway ${body.id} was not added, retry later`, 'protocol');
    }
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('gateways').values({ id: body.id, campus_id: body.campusId, building_id: body.buildingId ?? null, protocol: body.protocol, address: body.address }).execute();
        await appendAudit(trx, { operator: request.operator!.username, action: 'gateway.create', targetType: 'gateway', targetId: body.id, details: { ...body } });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `gateway ${body.id} already exists`, 'id');
      throw error;
    }
    await runtime.addGateway({ id: body.id, campusId: body.campusId, protocol: body.protocol, address: body.address, settings: {} });
    return reply.status(201).send({ id: body.id });
  });

  app.delete('/api/gateways/:id', { preHandler: admins, schema: { tags: ['topology'], summary: 'Remove a gateway that no meter uses (stops its driver)', params: IdParams } }, async (request, reply) => {
    const { id } = request.params as Static<typeof IdParams>;
    if (!(await db.selectFrom('gateways').select('id').where('id', '=', id).executeTakeFirst())) throw new DomainError('GATEWAY_NOT_FOUND', `gateway ${id} does not exist`);
    if (await db.selectFrom('meters').select('id').where('gateway_id', '=', id).executeTakeFirst()) throw new DomainError('ALREADY_EXISTS', `gateway ${id} still has meters: remove or move them first`, 'id');
    await runtime.removeGateway(id);
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('gateway_leases').where('gateway_id', '=', id).execute();
      await trx.deleteFrom('gateways').where('id', '=', id).execute();
      await appendAudit(trx, { operator: request.operator!.username, action: 'gateway.delete', targetType: 'gateway', targetId: id });
    });
    return reply.status(204).send();
  });

  app.get('/api/gateways/:id', { preHandler: app.requireRole('admin', 'manager', 'finance'), schema: { tags: ['topology'], summary: 'A gateway and its live status', params: IdParams } }, async (request) => {
    const { id } = request.params as Static<typeof IdParams>;
    const row = await db.selectFrom('gateways').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new DomainError('GATEWAY_NOT_FOUND', `gateway ${id} does not exist`);
    const live = await runtime.gateway(id).catch(() => undefined);
    return { id: row.id, campusId: row.campus_id, buildingId: row.building_id, protocol: row.protocol, address: row.address, online: live?.online ?? false, meters: live?.meters ?? 0, commandsInFlight: live?.commandsInFlight ?? 0 };
  });
}

export default fp(topologyRoutes, { name: 'topology-routes', dependencies: ['auth'] });
