import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { CampusRuntime } from '../actors/campus-runtime.ts';
import type { AppContext } from '../app-context.ts';
import { listCommands } from '../db/command.repository.ts';
import { dormitoryExists } from '../db/dormitory.repository.ts';
import { DomainError } from '../errors.ts';
import { KeyedSerial } from '../services/keyed-serial.ts';
import { issueManualCommand } from '../services/manual-command.service.ts';
import { pagination } from './schema-bounds.ts';
import { assertCanRead } from './auth.plugin.ts';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const CommandBody = Type.Object(
  {
    circuit: Type.Union([Type.Literal('lighting'), Type.Literal('socket'), Type.Literal('ac'), Type.Literal('all')]),
    action: Type.Union([Type.Literal('cut'), Type.Literal('restore')]),
    reason: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S', description: 'why (kept in the audit log); not blank' }),
  },
  { additionalProperties: false },
);
const CommandQuery = Type.Object(pagination(), { additionalProperties: false });

/**
 * Remote cut/restore. A manual cut is a cut reason like any other: it holds the circuit off
 * until a manual restore lifts it, and it is committed (`manual_cuts`) before the 202, so a
 * restart or a reload keeps it; a restore lifts only the manual reason (arrears or a
 * safety trip still hold, and the answer says which). The lifecycle of each command the
 * circuits send (requested -> sent -> confirmed | failed) is in GET /api/commands.
 */
async function commandRoutes(app: FastifyInstance, options: { context: AppContext; runtime: CampusRuntime }): Promise<void> {
  const { db } = options.context;
  /** Operator commands, one per dormitory at a time (issueManualCommand). */
  const serial = new KeyedSerial();

  app.post(
    '/api/dormitories/:id/commands',
    { preHandler: app.requireRole('admin', 'manager'), schema: { tags: ['control'], summary: 'Cut or restore circuits of a dormitory', params: IdParams, body: CommandBody } },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const body = request.body as Static<typeof CommandBody>;
      if (!(await dormitoryExists(db, id))) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`);
      if (!options.runtime.directory.dormitories.has(id)) throw new DomainError('ACTOR_UNAVAILABLE', `dormitory ${id} is not running`);
      const operator = request.operator!.username;
      // Durable before the actors act and before the 202 (a restart keeps the operator's cut), and in
      // commit order per dormitory. A busy dormitory is 503 ACTOR_BUSY with Retry-After (the cut is
      // already durable and applies when it gets there).
      const command = { dormitoryId: id, circuit: body.circuit, action: body.action, reason: body.reason, operator };
      const accepted = await issueManualCommand(db, serial, command, new Date(options.context.clock.now()), () => options.runtime.manualCommand(id, body.circuit, body.action, body.reason, operator), options.context.fence);
      if (!accepted) throw new DomainError('ACTOR_UNAVAILABLE', `dormitory ${id} is not running`);
      return reply.status(202).send({
        dormitoryId: id,
        action: body.action,
        circuits: accepted.circuits.map((c) => ({ meterId: c.meterId, circuit: c.target, stillCutBy: c.stillCutBy })),
      });
    },
  );

  app.get(
    '/api/dormitories/:id/commands',
    { preHandler: app.requireRole('admin', 'manager', 'finance', 'student'), schema: { tags: ['control'], summary: 'Commands sent to a dormitory, newest first', params: IdParams, querystring: CommandQuery } },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const q = request.query as Static<typeof CommandQuery>;
      assertCanRead(request.operator, id);
      return listCommands(db, id, { page: q.page ?? 1, pageSize: q.pageSize ?? 50 });
    },
  );
}

export default fp(commandRoutes, { name: 'command-routes', dependencies: ['auth'] });
