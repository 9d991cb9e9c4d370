import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { meterBilling, resolveMeterRegister, type MeterRegisterRuntime } from '../services/meter-register.service.ts';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Reason = Type.String({ minLength: 3, maxLength: 500 });
const Register = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const ResolveBody = Type.Object({ action: Type.Union([Type.Literal('accept'), Type.Literal('void')]), reason: Reason }, { additionalProperties: false });
const ReplacementBody = Type.Object({ finalRegister: Register, openingRegister: Register, reason: Reason }, { additionalProperties: false });

/**
 * Registers are physical: a meter whose register went backwards or jumped implausibly holds
 * its billing until an operator resolves it here; a swapped meter is billed up to the old
 * one's final register and restarts at the new one's opening register.
 */
async function meterRegisterRoutes(app: FastifyInstance, options: { context: AppContext; runtime: MeterRegisterRuntime }): Promise<void> {
  const { db } = options.context;
  const operators = app.requireRole('admin', 'manager');

  app.get(
    '/api/meters/:id/billing',
    { preHandler: app.requireRole('admin', 'manager', 'finance'), schema: { tags: ['billing'], summary: "A meter's billing: billed register, last register read, pending charge, hold", params: IdParams } },
    async (request) => meterBilling(db, options.runtime, (request.params as Static<typeof IdParams>).id),
  );

  app.post(
    '/api/meters/:id/register/resolve',
    { preHandler: operators, schema: { tags: ['billing'], summary: 'Resolve a held register: accept the jump as consumption, or void the range (audited)', params: IdParams, body: ResolveBody } },
    async (request) => {
      const body = request.body as Static<typeof ResolveBody>;
      return resolveMeterRegister(db, options.runtime, (request.params as Static<typeof IdParams>).id, { action: body.action, reason: body.reason }, request.operator!.username);
    },
  );

  app.post(
    '/api/meters/:id/replacement',
    { preHandler: operators, schema: { tags: ['billing'], summary: "Replace a meter: bill the old one to its final register, start the new one at its opening register (audited)", params: IdParams, body: ReplacementBody } },
    async (request) => {
      const body = request.body as Static<typeof ReplacementBody>;
      return resolveMeterRegister(db, options.runtime, (request.params as Static<typeof IdParams>).id, { action: 'replace', ...body }, request.operator!.username);
    },
  );
}

export default fp(meterRegisterRoutes, { name: 'meter-register-routes', dependencies: ['auth'] });
