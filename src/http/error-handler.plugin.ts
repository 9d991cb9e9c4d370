import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { isConnectionFailure } from '../db/connection-failure.ts';
import { RuntimeFenceError } from '../db/runtime-lock.ts';
import { ActorBusyError, DomainError, fromDatabaseError, LedgerUnavailableError, type ErrorBody, type ErrorCode } from '../errors.ts';

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

/** Fastify's own errors (parsing, routing) in the catalogue's terms: code and the field at fault. */
const FASTIFY_ERRORS: Readonly<Record<string, { code: ErrorCode; field: string }>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' },
  FST_ERR_CTP_INVALID_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'MALFORMED_BODY', field: 'content-length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_BODY', field: 'body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_BODY', field: 'body' },
  FST_ERR_BAD_URL: { code: 'BAD_URL', field: 'url' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', field: 'url' },
};

/** Status of a client error we have no code for: a generic code of that status. */
const GENERIC_CODES: Readonly<Record<number, ErrorCode>> = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 414: 'URI_TOO_LONG', 415: 'UNSUPPORTED_MEDIA_TYPE', 429: 'RATE_LIMITED' };

/** Seconds a client waits before retrying a request the database did not complete. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Every error a client sees, as one shape and status (and the headers it needs). Undefined means "ours: 500". */
export function toClientError(error: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } | undefined {
  const render = (status: number, code: string, message: string, field?: string) => ({ status, body: { error: { code, message, ...(field ? { field } : {}) } } });
  if (error instanceof ActorBusyError) return { ...render(error.statusCode, error.code, error.message), headers: { 'retry-after': String(error.retryAfterSeconds) } };
  if (error instanceof DomainError) return render(error.statusCode, error.code, error.message, error.field);
  const database = fromDatabaseError(error);
  if (database) return render(database.statusCode, database.code, database.message, database.field);
  // The database away (or a transient conflict): nothing was committed, a retry is the answer.
  // This server lost the runtime lock (another may run the campus): nothing was committed; retry, here or on the running server.
  if (error instanceof RuntimeFenceError) return { ...render(503, 'NOT_RUNNING_THE_CAMPUS', error.message), headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } };
  if (error instanceof LedgerUnavailableError) return { ...render(503, 'DATABASE_UNAVAILABLE', error.message), headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } };
  if (isConnectionFailure(error)) return { ...render(503, 'DATABASE_UNAVAILABLE', 'the database did not answer (unreachable, or a transient conflict); retry'), headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } };
  const fastify = error as Partial<FastifyError>;
  if (fastify.validation) {
    const field = fieldOf(fastify as FastifyError);
    return render(400, 'VALIDATION_FAILED', `${field ?? 'request'} ${(fastify.message ?? '').replace(/^[^ ]+ /, '')}`, field);
  }
  const known = fastify.code ? FASTIFY_ERRORS[fastify.code] : undefined;
  const status = typeof fastify.statusCode === 'number' ? fastify.statusCode : 500;
  if (known) return render(status >= 400 && status < 500 ? status : 400, known.code, fastify.message ?? known.code, known.field);
  if (status >= 400 && status < 500) {
    const code = GENERIC_CODES[status] ?? (error instanceof SyntaxError ? 'MALFORMED_BODY' : 'VALIDATION_FAILED');
    return render(status, code, fastify.message ?? code, status === 400 ? 'body' : undefined);
  }
  return undefined;
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const client = toClientError(error);
  if (client) {
    if (client.headers) void reply.headers(client.headers);
    void reply.status(client.status).send(client.body);
    return;
  }
  request.log.error({ err: error, url: request.url, method: request.method }, 'request failed');
  void reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } } satisfies ErrorBody);
}

/**
 * Fastify's router answers a malformed URL (`%C0%AE`) or an over-long path parameter before
 * any plugin runs; this constructor option routes those through the same error shape.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, request, reply) => sendError(error, request, reply);

/**
 * One error handler: coded errors keep their status and field; schema errors become 400
 * VALIDATION_FAILED naming the field; database constraint and data errors are mapped to 4xx
 * in one place (src/errors.ts `fromDatabaseError`); an actor that did not answer in time is 503
 * ACTOR_BUSY with Retry-After (`ActorBusyError`); a database that is away is 503
 * DATABASE_UNAVAILABLE with Retry-After (`isConnectionFailure`); Fastify's parsing errors get catalogue
 * codes; anything else is logged with its context and hidden behind a plain 500.
 */
async function errorHandlerPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, field: 'url' } } satisfies ErrorBody);
  });
}

export default fp(errorHandlerPlugin, { name: 'error-handler' });
