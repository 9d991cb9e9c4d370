import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError, type ErrorBody } from '../errors.ts';

/** Field path of a schema validation error, e.g. `amount` or `periods.2.from`. */
function fieldOf(error: FastifyError): string | undefined {
  const first = error.validation?.[0];
  if (!first) return undefined;
  const params = first.params as Record<string, unknown>;
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = typeof params.missingProperty === 'string' ? params.missingProperty : undefined;
  const extra = typeof params.additionalProperty === 'string' ? params.additionalProperty : undefined;
  const leaf = missing ?? extra;
  if (leaf) return path ? `${path}.${leaf}` : leaf;
  return path || (error.validationContext === 'body' ? 'body' : error.validationContext);
}

/**
 * One error handler: coded errors keep their status and field; schema errors become 400
 * VALIDATION_FAILED naming the field; anything else is logged with its context and hidden
 * behind a plain 500.
 */
async function errorHandlerPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler<FastifyError | DomainError>((error, request, reply) => {
    let body: ErrorBody;
    let status: number;
    if (error instanceof DomainError) {
      status = error.statusCode;
      body = { error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) } };
    } else if ((error as FastifyError).validation) {
      const field = fieldOf(error as FastifyError);
      status = 400;
      body = { error: { code: 'VALIDATION_FAILED', message: `${field ?? 'request'} ${error.message.replace(/^[^ ]+ /, '')}`, ...(field ? { field } : {}) } };
    } else if (typeof (error as FastifyError).statusCode === 'number' && (error as FastifyError).statusCode! < 500) {
      status = (error as FastifyError).statusCode!;
      const code = (error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
      body = { error: { code, message: error.message, ...(status === 400 ? { field: 'body' } : {}) } };
    } else {
      status = 500;
      request.log.error({ err: error, url: request.url, method: request.method }, 'request failed');
      body = { error: { code: 'INTERNAL', message: 'internal error' } };
    }
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });
}

export default fp(errorHandlerPlugin, { name: 'error-handler' });
