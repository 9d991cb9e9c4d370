/** One HTTP exchange with a provider's API, as the adapters see it (injectable: tests play the provider on a local port). */
export interface ProviderHttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface ProviderHttpResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body: a provider's response signature covers these exact bytes. */
  readonly body: string;
}

export type HttpTransport = (request: ProviderHttpRequest) => Promise<ProviderHttpResponse>;

/** The transport over Node's fetch, with a bound on how long one call may take. */
export function fetchTransport(timeoutMs = 10_000): HttpTransport {
  return async (request) => {
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return { status: response.status, headers, body: await response.text() };
  };
}
