/**
 * Shared reading of untrusted rule configs (REST bodies, database rows). Each
 * `validateXConfig` returns a fresh, deeply frozen config or the path of the first bad
 * field ('increment.pfThreshold', 'intervals[2].minW'; '' is the config itself).
 *
 * Missing fields take the rule's default; unknown fields are rejected, so a typo such as
 * `thresholdWatts` cannot silently leave the default in force. Arrays given replace the
 * default array as a whole.
 */

export type ConfigValidation<C> =
  | { readonly ok: true; readonly config: C }
  | { readonly ok: false; readonly field: string; readonly message: string };

export class InvalidField extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function validated<C>(read: () => C): ConfigValidation<C> {
  try {
    return { ok: true, config: deepFreeze(read()) };
  } catch (error) {
    if (error instanceof InvalidField) return { ok: false, field: error.field, message: error.message };
    throw error;
  }
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

export function fieldPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export type Fields = Readonly<Record<string, unknown>>;

/** A plain object whose keys are all in `allowed`. */
export function readObject(value: unknown, path: string, allowed: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidField(path, 'must be an object');
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new InvalidField(fieldPath(path, key), 'unknown field');
  }
  return value as Fields;
}

export interface NumberBounds {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

export function checkNumber(value: unknown, field: string, bounds: NumberBounds): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidField(field, 'must be a finite number');
  if (bounds.integer === true && !Number.isInteger(value)) throw new InvalidField(field, 'must be an integer');
  if (value < bounds.min || value > bounds.max) {
    throw new InvalidField(field, `must be within ${bounds.min}..${bounds.max}`);
  }
  return value;
}

export function readNumber(fields: Fields, key: string, path: string, fallback: number, bounds: NumberBounds): number {
  const value = fields[key];
  return value === undefined ? fallback : checkNumber(value, fieldPath(path, key), bounds);
}

export function readBoolean(fields: Fields, key: string, path: string, fallback: boolean): boolean {
  const value = fields[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidField(fieldPath(path, key), 'must be true or false');
  return value;
}

export function readChoice<T extends string>(
  fields: Fields,
  key: string,
  path: string,
  fallback: T,
  choices: readonly T[],
): T {
  const value = fields[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidField(fieldPath(path, key), `must be one of ${choices.map((c) => `'${c}'`).join(', ')}`);
  }
  return value as T;
}

export function checkArray(value: unknown, field: string, maxLength: number): readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidField(field, 'must be an array');
  if (value.length > maxLength) throw new InvalidField(field, `must have at most ${maxLength} entries`);
  return value;
}

export const MAX_NAME_LENGTH = 64;

export function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME_LENGTH) {
    throw new InvalidField(field, `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
  }
  return value;
}
