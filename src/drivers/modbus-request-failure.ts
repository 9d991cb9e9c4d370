/**
 * Why a Modbus request failed, in the driver's terms. modbus-serial reports failures as
 * differently shaped errors; this is the one place that knows their shapes.
 *  - timeout: no reply within the request timeout (meter or gateway silent)
 *  - disconnected: the TCP connection is gone
 *  - exception: a well-formed Modbus exception reply (e.g. 0x0B gateway target failed)
 *  - malformed: a reply that does not parse (wrong length, wrong unit/function, bad echo)
 */
export type RequestFailure =
  | { readonly kind: 'timeout'; readonly detail: string }
  | { readonly kind: 'disconnected'; readonly detail: string }
  | { readonly kind: 'exception'; readonly code: number; readonly detail: string }
  | { readonly kind: 'malformed'; readonly detail: string };

/** The connection closed while a request was in flight, or before it was sent. */
export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError';
}

/** A reply that arrived and parsed but is not the answer to the request (e.g. bad echo). */
export class MalformedReplyError extends Error {
  override readonly name = 'MalformedReplyError';
}

export function classifyRequestError(error: unknown): RequestFailure {
  const e = (error ?? {}) as { name?: unknown; message?: unknown; errno?: unknown; modbusCode?: unknown };
  const detail = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  if (error instanceof ConnectionLostError || e.name === 'PortNotOpenError') return { kind: 'disconnected', detail };
  if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT') return { kind: 'timeout', detail: 'request timed out' };
  if (typeof e.modbusCode === 'number') return { kind: 'exception', code: e.modbusCode, detail };
  // "Data length error", "Unexpected data error", RangeError while parsing, bad echo.
  return { kind: 'malformed', detail };
}
