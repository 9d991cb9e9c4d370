/**
 * The catalogue of coded errors. Every error a client can see has a code, an HTTP status
 * and, where one field is at fault, the field's name.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: 400,
  AMOUNT_NOT_POSITIVE: 400,
  AMOUNT_ZERO: 400,
  INVALID_TARIFF: 400,
  INVALID_RULE_CONFIG: 400,
  CONTROL_CHARACTER: 400,
  MALFORMED_BODY: 400,
  BAD_URL: 400,
  VALUE_OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  SIGNATURE_INVALID: 401,
  FORBIDDEN: 403,
  SAME_APPROVER: 403,
  DORMITORY_NOT_FOUND: 404,
  NOTIFICATION_NOT_FOUND: 404,
  BUILDING_NOT_FOUND: 404,
  METER_NOT_FOUND: 404,
  GATEWAY_NOT_FOUND: 404,
  CREDENTIAL_NOT_FOUND: 404,
  DISPLAY_TOKEN_NOT_FOUND: 404,
  ALARM_NOT_FOUND: 404,
  APPLIANCE_NOT_FOUND: 404,
  OPERATOR_NOT_FOUND: 404,
  APPROVAL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  REFERENCE_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  STILL_REFERENCED: 409,
  ALARM_NOT_ACTIVE: 409,
  APPROVAL_NOT_PENDING: 409,
  SIMULATOR_NOT_RUNNING: 409,
  METER_NOT_RUNNING: 409,
  REGISTER_NOT_HELD: 409,
  REGISTER_BELOW_BILLED: 409,
  TARIFF_INVALID: 409,
  GATEWAY_NOT_MQTT: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REFERENCE_NOT_FOUND: 422,
  RATE_LIMITED: 429,
  ACTOR_UNAVAILABLE: 503,
  ACTOR_BUSY: 503,
  BROKER_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  NOT_RUNNING_THE_CAMPUS: 503,
  // The office: users, students, occupancy.
  USER_NOT_FOUND: 404,
  STUDENT_NOT_FOUND: 404,
  WEAK_PASSWORD: 400,
  WRONG_PASSWORD: 403,
  ROLE_NOT_ALLOWED: 400,
  DATE_NOT_ALLOWED: 400,
  PAYER_NOT_OCCUPANT: 400,
  LAST_ADMIN: 409,
  DORMITORY_FULL: 409,
  BED_TAKEN: 409,
  ALREADY_CHECKED_IN: 409,
  NOT_CHECKED_IN: 409,
  SAME_DORMITORY: 409,
  // Excel batches (docs/imports.md).
  IMPORT_HEADER_MISSING: 400,
  IMPORT_TOO_MANY_ROWS: 400,
  IMPORT_FILE_UNREADABLE: 400,
  IMPORT_FILE_TOO_LARGE: 413,
  JOB_NOT_FOUND: 404,
  // Finance (docs/payments.md, docs/reports.md).
  REFUND_EXCEEDS_BALANCE: 409,
  PROVIDER_NOT_ENABLED: 404,
  PAYMENT_NOT_FOUND: 404,
  PAYMENT_AMOUNT_MISMATCH: 409,
  PAYMENT_EXPIRED: 409,
  PROVIDER_UNAVAILABLE: 502,
  PROVIDER_ANSWER_INVALID: 502,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class DomainError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
    this.statusCode = ERROR_CATALOGUE[code];
  }
}

/**
 * A live actor did not answer in time (its mailbox is behind a burst of readings): 503
 * ACTOR_BUSY with `Retry-After`, so a client retries instead of reading a 500.
 */
export class ActorBusyError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('ACTOR_BUSY', message);
    this.name = 'ActorBusyError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** The fields PostgreSQL (node-postgres and PGlite alike) puts on a server error. */
interface PostgresError {
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly column?: string;
  readonly constraint?: string;
}

/** A unique constraint refused an insert (PostgreSQL 23505): the caller names what already exists. */
export function isUniqueViolation(error: unknown): boolean {
  return isPostgresError(error) && error.code === '23505';
}

function isPostgresError(error: unknown): error is PostgresError {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof message === 'string';
}

/** `building_id` -> `buildingId`: the API's spelling of a column. */
const camelCase = (column: string): string => column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The column a constraint error names: `Key (building_id)=(x) ...`, else the error's own column. */
function columnOf(error: PostgresError): string | undefined {
  const key = /^Key \(([a-z_, ]+)\)=/.exec(error.detail ?? '');
  const column = key?.[1]?.split(',')[0]?.trim() ?? error.column;
  return column ? camelCase(column) : undefined;
}

/**
 * Maps a database constraint or data error to a coded client error, in one place: whatever a
 * route forgot to check before writing (a duplicate id, an unknown building or quota, a value
 * out of a column's range, a NUL byte) is the client's mistake, never a 500. Returns undefined
 * for everything else (lost connections, serialization failures, bugs), which stays a 5xx.
 * The message names the column, never the SQL or the values.
 */
export function fromDatabaseError(error: unknown): DomainError | undefined {
  if (!isPostgresError(error)) return undefined;
  const field = columnOf(error);
  const named = field ? ` (${field})` : '';
  switch (error.code) {
    case '23505': // unique_violation
      return new DomainError('ALREADY_EXISTS', `a record with this ${field ?? 'key'} already exists`, field);
    case '23503': // foreign_key_violation: a write naming a missing record, or a delete of a referenced one
      return /still referenced/.test(error.detail ?? '')
        ? new DomainError('STILL_REFERENCED', `the record is still referenced${named}; remove what refers to it first`, field)
        : new DomainError('REFERENCE_NOT_FOUND', `${field ?? 'a referenced record'} does not exist`, field);
    case '23502': // not_null_violation
      return new DomainError('VALIDATION_FAILED', `${field ?? 'a required value'} is missing`, field);
    case '23514': // check_violation
      return new DomainError('VALIDATION_FAILED', `a value is not allowed${error.constraint ? ` (${error.constraint})` : ''}`, field);
    case '22P02': // invalid_text_representation
    case '22P05': // untranslatable_character
    case '22021': // character_not_in_repertoire (a NUL byte in text)
    case '22007': // invalid_datetime_format
    case '22008': // datetime_field_overflow
    case '22001': // string_data_right_truncation
    case '22023': // invalid_parameter_value
    case '2201W': // invalid_row_count_in_limit_clause
    case '2201X': // invalid_row_count_in_result_offset_clause
      return new DomainError('VALIDATION_FAILED', `a value is malformed${named}`, field);
    case '22003': // numeric_value_out_of_range
      return new DomainError('VALUE_OUT_OF_RANGE', `a number is out of range${named}`, field);
    default:
      return undefined;
  }
}

/**
 * The ledger could not commit what a request handed it (the database did not answer): the items
 * are kept and written, once, when it answers. A 503 DATABASE_UNAVAILABLE with Retry-After
 * (src/http/error-handler.plugin.ts), not a 500: nothing is wrong with the request.
 */
export class LedgerUnavailableError extends Error {
  constructor() {
    super('the ledger could not commit yet (the database did not answer); what this request handed it is kept and written when the database answers: check the state before retrying');
    this.name = 'LedgerUnavailableError';
  }
}
