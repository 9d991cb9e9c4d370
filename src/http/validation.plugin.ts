import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * Two validators. Bodies are checked strictly: no type coercion (a money amount of "100" is
 * an error, not 100) and unknown properties are rejected, not silently removed. Query
 * strings and path parameters arrive as text, so they are coerced to the schema's types.
 */
async function validationPlugin(app: FastifyInstance): Promise<void> {
  const common: Options = { useDefaults: true, allErrors: false, strict: false };
  const strict = addFormats(new Ajv({ ...common, coerceTypes: false, removeAdditional: false }));
  const coercing = addFormats(new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false }));
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}

export default fp(validationPlugin, { name: 'validation' });
