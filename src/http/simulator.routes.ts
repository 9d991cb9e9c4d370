import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import { CIRCUIT_KINDS } from '../domain/reading.ts';
import { DomainError, type ErrorCode } from '../errors.ts';
import { APPLIANCE_KINDS } from '../simulator/appliance.ts';
import { SimulatorError, type SimulatorErrorCode } from '../simulator/simulator-error.ts';
import { MAX_SIMULATOR_SPEED, SIMULATOR_EVENT_KINDS, SimulatorInputError, type SimulatorRuntime } from '../simulator/simulator-runtime.ts';

/**
 * The control API of the in-process simulator: plug appliances into rooms, raise meter
 * events, drop gateways, speed up or jump the simulated clock. Admins and managers only.
 * It talks to the simulated campus, not to the actor tree: what the server makes of it is
 * seen through the drivers, as with real meters.
 */
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const ApplianceParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100 }),
  applianceId: Type.String({ minLength: 1, maxLength: 100 }),
});
const PlugBody = Type.Object(
  { kind: Type.Enum([...APPLIANCE_KINDS]), circuit: Type.Enum([...CIRCUIT_KINDS]) },
  { additionalProperties: false },
);
const EventBody = Type.Object({ kind: Type.Enum([...SIMULATOR_EVENT_KINDS]) }, { additionalProperties: false });
const ClockBody = Type.Object(
  {
    speed: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_SIMULATOR_SPEED, description: 'simulated seconds per real second' })),
    time: Type.Optional(Type.String({ format: 'date-time', description: 'simulated time to jump to; forward only' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const ClockState = Type.Object({ time: Type.String(), timeMs: Type.Integer(), speed: Type.Number() });
const Relays = Type.Object({
  lighting: Type.Optional(Type.Boolean()),
  socket: Type.Optional(Type.Boolean()),
  ac: Type.Optional(Type.Boolean()),
  main: Type.Optional(Type.Boolean()),
});
const Status = Type.Object({
  running: Type.Boolean(),
  clock: ClockState,
  utcOffsetMinutes: Type.Integer(),
  seed: Type.Integer(),
  mqttUrl: Type.Union([Type.String(), Type.Null()]),
  totals: Type.Object({
    gateways: Type.Integer(),
    gatewaysOnline: Type.Integer(),
    meters: Type.Integer(),
    dormitories: Type.Integer(),
    powerW: Type.Number(),
    waterFlowLpm: Type.Number(),
  }),
  gateways: Type.Array(
    Type.Object({
      gatewayId: Type.String(),
      protocol: Type.String(),
      online: Type.Boolean(),
      meterCount: Type.Integer(),
      port: Type.Union([Type.Integer(), Type.Null()]),
    }),
  ),
  dormitories: Type.Array(
    Type.Object({
      dormitoryId: Type.String(),
      powerW: Type.Number(),
      energyWh: Type.Integer(),
      relays: Relays,
      coverOpen: Type.Boolean(),
      reverseConnection: Type.Boolean(),
      appliances: Type.Array(
        Type.Object({ id: Type.String(), kind: Type.String(), circuit: Type.String(), usage: Type.String(), api: Type.Boolean() }),
      ),
    }),
  ),
});

/** SimulatorError codes as catalogue codes (no NO_ELECTRIC_METER in the catalogue: a missing meter is METER_NOT_FOUND). */
const CODE_OF: Readonly<Record<SimulatorErrorCode, ErrorCode>> = {
  GATEWAY_NOT_FOUND: 'GATEWAY_NOT_FOUND',
  METER_NOT_FOUND: 'METER_NOT_FOUND',
  DORMITORY_NOT_FOUND: 'DORMITORY_NOT_FOUND',
  APPLIANCE_NOT_FOUND: 'APPLIANCE_NOT_FOUND',
  NO_ELECTRIC_METER: 'METER_NOT_FOUND',
  GATEWAY_EXISTS: 'ALREADY_EXISTS',
  METER_EXISTS: 'ALREADY_EXISTS',
  INVALID_INPUT: 'VALIDATION_FAILED',
};

async function simulatorRoutes(app: FastifyInstance, options: { runtime: SimulatorRuntime }): Promise<void> {
  const { runtime } = options;
  const controllers = app.requireRole('admin', 'manager');

  /** Runs a control action on the running simulator, its coded errors as DomainErrors. */
  const control = <T>(action: () => T, field?: string): T => {
    if (!runtime.isRunning) throw new DomainError('SIMULATOR_NOT_RUNNING', 'the simulator is not running in this process');
    try {
      return action();
    } catch (error) {
      if (!(error instanceof SimulatorError)) throw error;
      const inputField = error instanceof SimulatorInputError ? error.field : error.code === 'INVALID_INPUT' ? field : undefined;
      throw new DomainError(CODE_OF[error.code], error.message, inputField);
    }
  };

  app.get(
    '/api/simulator',
    { preHandler: controllers, schema: { tags: ['simulator'], summary: 'Simulator status: clock, gateways, totals, rooms touched through this API', response: { 200: Status } } },
    async () => runtime.status(),
  );

  app.post(
    '/api/simulator/dormitories/:id/appliances',
    {
      preHandler: controllers,
      schema: {
        tags: ['simulator'],
        summary: 'Plug an appliance into a room circuit (it runs continuously until unplugged)',
        params: IdParams,
        body: PlugBody,
        response: { 201: Type.Object({ id: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const { kind, circuit } = request.body as Static<typeof PlugBody>;
      const applianceId = control(() => runtime.plugAppliance(id, kind, circuit), 'kind');
      return reply.status(201).send({ id: applianceId });
    },
  );

  app.delete(
    '/api/simulator/dormitories/:id/appliances/:applianceId',
    { preHandler: controllers, schema: { tags: ['simulator'], summary: 'Unplug an appliance', params: ApplianceParams } },
    async (request, reply) => {
      const { id, applianceId } = request.params as Static<typeof ApplianceParams>;
      control(() => runtime.unplugAppliance(id, applianceId));
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/simulator/dormitories/:id/events',
    {
      preHandler: controllers,
      schema: {
        tags: ['simulator'],
        summary: 'Raise a meter event: AC plug pulled or back, cover opened or closed, reverse connection or fixed',
        params: IdParams,
        body: EventBody,
        response: { 202: Type.Object({ dormitoryId: Type.String(), kind: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const { kind } = request.body as Static<typeof EventBody>;
      control(() => runtime.raiseEvent(id, kind), 'kind');
      return reply.status(202).send({ dormitoryId: id, kind });
    },
  );

  for (const state of ['offline', 'online'] as const) {
    app.post(
      `/api/simulator/gateways/:id/${state}`,
      {
        preHandler: controllers,
        schema: {
          tags: ['simulator'],
          summary: state === 'offline' ? 'Drop a gateway: it stops answering and publishing' : 'Bring a dropped gateway back',
          params: IdParams,
          response: { 202: Type.Object({ gatewayId: Type.String(), online: Type.Boolean() }) },
        },
      },
      async (request, reply) => {
        const { id } = request.params as Static<typeof IdParams>;
        control(() => runtime.setGatewayOnline(id, state === 'online'));
        return reply.status(202).send({ gatewayId: id, online: state === 'online' });
      },
    );
  }

  app.put(
    '/api/simulator/clock',
    {
      preHandler: controllers,
      schema: {
        tags: ['simulator'],
        summary: 'Set the simulated clock speed (0..3600) and/or jump it forward',
        body: ClockBody,
        response: { 200: ClockState },
      },
    },
    async (request) => {
      const body = request.body as Static<typeof ClockBody>;
      const timeMs = body.time === undefined ? undefined : Date.parse(body.time);
      if (timeMs !== undefined && Number.isNaN(timeMs)) throw new DomainError('VALIDATION_FAILED', `time '${body.time}' is not a valid time`, 'time');
      return control(() => runtime.setClock({ ...(body.speed === undefined ? {} : { speed: body.speed }), ...(timeMs === undefined ? {} : { timeMs }) }));
    },
  );
}

export default fp(simulatorRoutes, { name: 'simulator-routes', dependencies: ['auth'] });
