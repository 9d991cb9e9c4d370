import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { findControlCharacter } from '../domain/control-characters.ts';
import { DomainError } from '../errors.ts';
import { boundSchema } from './schema-bounds.ts';

/** The request parts a route's schema may describe, and whether free text there may break lines. */
const PARTS = [
  ['params', false],
  ['querystring', false],
  ['body', true],
] as const;

/**
 * Input checks every route gets without asking, so a route added tomorrow is covered:
 * - at registration, its params, query and body schemas get a bound on every number and
 *   string they left open (`boundSchema`);
 * - before validation, path ids, query values and every key and string in the parsed body are
 *   refused (400 CONTROL_CHARACTER naming the field) when they hold a NUL or another control
 *   character; body strings may keep tab and line breaks.
 */
async function inputGuardPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.schema) return;
    const schema = { ...route.schema } as Record<string, unknown>;
    for (const [part] of PARTS) if (schema[part] !== undefined) schema[part] = boundSchema(schema[part]);
    route.schema = schema;
  });

  app.addHook('preValidation', async (request: FastifyRequest) => {
    const values: Record<(typeof PARTS)[number][0], unknown> = { params: request.params, querystring: request.query, body: request.body };
    for (const [part, allowLineBreaks] of PARTS) {
      const found = findControlCharacter(values[part], '', { allowLineBreaks });
      if (found) {
        const field = found.field || part;
        throw new DomainError('CONTROL_CHARACTER', `${field} contains a control character (${found.character})`, field);
      }
    }
  });
}

export default fp(inputGuardPlugin, { name: 'input-guard', dependencies: ['error-handler'] });
