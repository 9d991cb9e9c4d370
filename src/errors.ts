/**
 * The catalogue of coded errors. Every error a client can see has a code, an HTTP status
 * and, where one field is at fault, the field's name.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: 400,
  AMOUNT_NOT_POSITIVE: 400,
  INVALID_TARIFF: 400,
  INVALID_RULE_CONFIG: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  DORMITORY_NOT_FOUND: 404,
  BUILDING_NOT_FOUND: 404,
  METER_NOT_FOUND: 404,
  GATEWAY_NOT_FOUND: 404,
  ALARM_NOT_FOUND: 404,
  APPLIANCE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  REFERENCE_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  ALARM_NOT_ACTIVE: 409,
  SIMULATOR_NOT_RUNNING: 409,
  METER_NOT_RUNNING: 409,
  REGISTER_NOT_HELD: 409,
  REGISTER_BELOW_BILLED: 409,
  TARIFF_INVALID: 409,
  SIGNATURE_INVALID: 401,
  RATE_LIMITED: 429,
  ACTOR_UNAVAILABLE: 503,
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

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
