import { Type } from 'typebox';

/**
 * Bounds for every number and string a route accepts. A page of 1e18 or `Infinity`, or an
 * alarm id of 1e19, passes "integer" but not PostgreSQL's bigint: routes use these helpers,
 * and `boundSchema` (applied to every route by the input guard) fills in a bound where a route
 * forgot one, so a new route is bounded by default.
 */
export const MAX_PAGE = 100_000;
export const MAX_PAGE_SIZE = 500;
/** Largest integer JSON and JavaScript carry exactly; far inside bigint. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Default `maxLength` of a string a route did not bound. */
export const DEFAULT_MAX_STRING_LENGTH = 10_000;

export const Page = () => Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 });
export const PageSize = () => Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 });
/** `page` and `pageSize` query properties. */
export const pagination = () => ({ page: Type.Optional(Page()), pageSize: Type.Optional(PageSize()) });
/** A bigserial row id in a path or body. */
export const RowId = () => Type.Integer({ minimum: 1, maximum: MAX_SAFE });

type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A copy of a JSON schema in which every integer/number has a minimum and a maximum (±2^53-1)
 * and every string a maxLength, where the schema did not say. Symbol keys (TypeBox's) are dropped.
 */
export function boundSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(boundSchema);
  if (!isSchema(schema)) return schema;
  const copy: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    copy[key] = key === 'const' || key === 'enum' || key === 'default' || key === 'examples' ? value : boundSchema(value);
  }
  const types = Array.isArray(copy.type) ? (copy.type as unknown[]) : [copy.type];
  if (types.includes('integer') || types.includes('number')) {
    if (copy.maximum === undefined && copy.exclusiveMaximum === undefined) copy.maximum = MAX_SAFE;
    if (copy.minimum === undefined && copy.exclusiveMinimum === undefined) copy.minimum = -MAX_SAFE;
  }
  if (types.includes('string') && copy.maxLength === undefined && copy.const === undefined && copy.enum === undefined) copy.maxLength = DEFAULT_MAX_STRING_LENGTH;
  return copy;
}

/** Every number without a maximum or string without a maxLength in a schema, by path (for tests). */
export function unboundedPaths(schema: unknown, path = ''): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s, i) => unboundedPaths(s, `${path}[${i}]`));
  if (!isSchema(schema)) return [];
  const found: string[] = [];
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  if ((types.includes('integer') || types.includes('number')) && (schema.maximum === undefined && schema.exclusiveMaximum === undefined)) found.push(path || '(root)');
  if (types.includes('string') && schema.maxLength === undefined && schema.const === undefined && schema.enum === undefined && schema.format === undefined) found.push(path || '(root)');
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'const' || key === 'enum' || key === 'default' || key === 'examples') continue;
    found.push(...unboundedPaths(value, path ? `${path}.${key}` : key));
  }
  return found;
}
