/**
 * Coded errors of the simulated campus, for the control API to map to HTTP statuses:
 * *_NOT_FOUND -> 404, *_EXISTS and NO_ELECTRIC_METER -> 409, INVALID_INPUT -> 400.
 */
export type SimulatorErrorCode =
  | 'GATEWAY_NOT_FOUND'
  | 'GATEWAY_EXISTS'
  | 'METER_NOT_FOUND'
  | 'METER_EXISTS'
  | 'DORMITORY_NOT_FOUND'
  | 'NO_ELECTRIC_METER'
  | 'APPLIANCE_NOT_FOUND'
  | 'INVALID_INPUT';

export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';

  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
  ) {
    super(message);
  }
}
