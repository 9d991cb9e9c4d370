import type { FastifyInstance } from 'fastify';

/** A JSON schema as the OpenAPI document carries it. */
export type JsonSchema = Record<string, unknown>;

export interface OperationParameter {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly required: boolean;
  readonly schema: JsonSchema;
}

/** One route as the OpenAPI document describes it: what the fuzz and route-role tests walk. */
export interface Operation {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI path, e.g. `/api/dormitories/{id}`. */
  readonly path: string;
  readonly parameters: readonly OperationParameter[];
  readonly body: JsonSchema | undefined;
  /** The roles the route's `requireRole` declared (`x-roles`); undefined for a public route. */
  readonly roles: readonly string[] | undefined;
}

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every operation of the app's OpenAPI document (GET /docs/json), so a new route is never missed. */
export async function listOperations(app: FastifyInstance): Promise<Operation[]> {
  const response = await app.inject({ method: 'GET', url: '/docs/json' });
  if (response.statusCode !== 200) throw new Error(`GET /docs/json: ${response.statusCode}`);
  const doc = response.json<{ paths: Record<string, Record<string, Record<string, unknown>>> }>();
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const upper = method.toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(upper)) continue;
      const parameters = ((op.parameters as Record<string, unknown>[] | undefined) ?? [])
        .filter((p) => p.in === 'path' || p.in === 'query')
        .map((p) => ({ name: String(p.name), in: p.in as 'path' | 'query', required: p.required === true, schema: (p.schema as JsonSchema | undefined) ?? {} }));
      const content = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)?.content;
      const body = content?.['application/json']?.schema;
      operations.push({ method: upper as Operation['method'], path, parameters, body, roles: op['x-roles'] as string[] | undefined });
    }
  }
  return operations;
}

/** `/api/dormitories/{id}` with the given (already encoded) path values. */
export function fillPath(path: string, values: Readonly<Record<string, string>>): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'x');
}
